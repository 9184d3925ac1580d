"""Sends one case of cases.json over a socket and reduces the answer to what is compared:
the status and, for a 422, the sorted list of failing locs."""
import http.client
import json


def answer(port, case):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {}
        body = None
        if "body" in case:
            body = json.dumps(case["body"]).encode()
            headers["Content-Type"] = "application/json"
        elif "raw" in case:
            body = case["raw"].encode()
            headers["Content-Type"] = "application/json"
        if "content_type" in case:  # another media type, or "" for none
            if case["content_type"]:
                headers["Content-Type"] = case["content_type"]
            else:
                headers.pop("Content-Type", None)
        conn.request(case["method"], case["path"], body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
    finally:
        conn.close()
    out = {"status": r.status}
    if r.status == 422:
        detail = json.loads(data)["detail"]
        out["locs"] = sorted({json.dumps(d["loc"]) for d in detail})
    return out
