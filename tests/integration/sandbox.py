"""A small tmpfs for tests that need a disk to fill or to turn read-only, in a private mount
namespace (unshare; as an unprivileged user where user namespaces are allowed, else as root)."""
import subprocess


def tmpfs_prefix(mnt, size, before=""):
    """A command prefix (its argv follows) that mounts a tmpfs of `size` on the existing directory
    mnt, runs the shell commands `before` (with $D set to mnt; their failure is ignored only where
    they say `|| true`) and then execs the argv. None when this machine cannot make one."""
    for unshare in (["unshare", "-rm"], ["unshare", "-m"]):
        probe = subprocess.run(unshare + ["sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                               capture_output=True, timeout=10)
        if probe.returncode == 0:
            script = 'export D="%s" && mount -t tmpfs -o size=%s tmpfs "$D" && %s exec "$@"' % (
                mnt, size, before + " &&" if before else "")
            return unshare + ["sh", "-c", script, "sh"]
    return None


# Shell commands that fill $D to the last byte.
FILL = 'dd if=/dev/zero of="$D/fill" bs=4k 2>/dev/null || true'
