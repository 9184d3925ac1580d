#!/usr/bin/env python3
"""Builds route_types.c with the project's compiler as a user would (-std=c17, no -Werror): a
handler whose type does not match its CADRE_ROUTE must be an error that names the expected
signature, whatever the compiler's default warnings; the matching handler must build; a schema
of more than 64 fields is an error; the typed model functions and cadre_set refuse another
model's struct and a field that is not the model's (model_api.c).

Usage: compile_test.py CC INCLUDE_DIR [CC_ARGS...]"""
import os
import subprocess
import sys
import tempfile

cc = sys.argv[1]
inc = sys.argv[2]
extra = sys.argv[3:]
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "route_types.c")
failures = []
with tempfile.TemporaryDirectory() as tmp:
    obj = os.path.join(tmp, "t.o")
    for mismatch in (0, 1, 2, 3):
        p = subprocess.run([cc, *extra, "-std=c17", "-I", inc, "-DMISMATCH=%d" % mismatch, "-c",
                            src, "-o", obj], capture_output=True, text=True, timeout=120)
        if mismatch == 0 and p.returncode != 0:
            failures.append("the matching handler did not build:\n" + p.stderr)
        elif mismatch and p.returncode == 0:
            failures.append("MISMATCH=%d built: the wrong handler type was not refused" % mismatch)
        elif mismatch and "CADRE_ROUTE: create must be int create(cadre_request *, const " \
                          "cadre_none *, const item *, item *)" not in p.stderr:
            failures.append("MISMATCH=%d: the error does not name the signature:\n%s"
                            % (mismatch, p.stderr))
    p = subprocess.run([cc, *extra, "-std=c17", "-I", inc, "-DTOO_MANY_FIELDS", "-c", src, "-o",
                        obj], capture_output=True, text=True, timeout=120)
    if p.returncode == 0 or "CADRE_SCHEMA wide: at most 64 fields" not in p.stderr:
        failures.append("a schema of 65 fields was not refused with its message:\n" + p.stderr)
    # the typed model API and presence bits (model_api.c)
    src2 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model_api.c")
    cases = {0: None, 1: "nope", 2: "incompatible pointer type", 3: "pointer type mismatch",
             4: "CADRE_FORM_PAGE: save must be int save(cadre_request *, product *, "
                "cadre_verrors *), or NULL"}
    for bad, words in cases.items():
        for werror in ([], ["-Werror"]):
            p = subprocess.run([cc, *extra, *werror, "-std=c17", "-Wall", "-I", inc,
                                "-DBAD=%d" % bad, "-c", src2, "-o", obj],
                               capture_output=True, text=True, timeout=120)
            if bad == 0 and p.returncode != 0:
                failures.append("model_api.c did not build%s:\n%s" % (" with -Werror" if werror else "", p.stderr))
            elif bad and words not in p.stderr:
                failures.append("model_api.c BAD=%d: no diagnostic naming %r:\n%s" % (bad, words, p.stderr))
            elif bad and werror and p.returncode == 0:
                failures.append("model_api.c BAD=%d built with -Werror" % bad)
            elif bad in (1, 4) and p.returncode == 0:
                failures.append("model_api.c BAD=%d built" % bad)
for f in failures:
    print(f, file=sys.stderr)
print("ok" if not failures else "%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
