#!/usr/bin/env python3
"""A signed apt repository for the lab, standing in for a vendor's (pkg.cloudflare.com).

Runs on the controller with GnuPG (Debian's gpg): makes throwaway signing keys and a flat
repository with an empty package index, signed the way apt checks it (InRelease and
Release.gpg). Nothing here is reached over a network: the lab copies the tree into the server
container and points apt at it with a file:// URI.

    apt_repo.py keygen KEYDIR NAME        make KEYDIR/NAME.gnupg (secret) and KEYDIR/NAME.gpg
                                          (binary public key, as vendors publish it); print the
                                          fingerprint
    apt_repo.py build REPO --suite any --component main --sign KEYDIR/NAME [--sign ...]
                                          write REPO/dists/SUITE/... signed by every key given
                                          (a vendor in the middle of a key rotation signs with two)
    apt_repo.py publish KEYDIR --sign NAME [--sign ...] --key NAME --container C --dest DIR
                                          build KEYDIR/repo and copy it with NAME.gpg (as the
                                          vendor's key file) into DIR of a lab container

The keys are made for each lab run and live under .cache/lab (0700): no private key is kept in
the repository.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

ARCHES = ("amd64", "arm64")


def _gpg(home, *args, data=None):
    return subprocess.run(["gpg", "--homedir", home, "--batch", "--quiet", "--no-tty", *args], input=data,
                          capture_output=True, check=True)


def fingerprint(home):
    out = _gpg(home, "--with-colons", "--list-keys").stdout.decode()
    return [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")][0]


def keygen(keydir, name):
    os.makedirs(keydir, mode=0o700, exist_ok=True)
    home = os.path.join(keydir, name + ".gnupg")
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(home, mode=0o700)
    try:
        _gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
             "Lab apt repository %s <apt-%s@lab.test>" % (name, name), "ed25519", "sign", "never")
        fpr = fingerprint(home)
        public = _gpg(home, "--export", fpr).stdout
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True, check=False)
    with open(os.path.join(keydir, name + ".gpg"), "wb") as handle:
        handle.write(public)
    with open(os.path.join(keydir, name + ".fpr"), "w", encoding="ascii") as handle:
        handle.write(fpr + "\n")
    return fpr


def publish(keydir, signers, key, container, dest, key_name="cloudflare-main.gpg", repo_name="cloudflared",
            suite="any", component="main"):
    """Build the repository signed by signers and put it, with key's public file under
    key_name, into dest of the podman container (replacing what was there: a rotation)."""
    repo = os.path.join(keydir, "repo")
    shutil.rmtree(repo, ignore_errors=True)
    build(repo, suite, component, [os.path.join(keydir, name) for name in signers])
    target = "%s/%s" % (dest.rstrip("/"), repo_name)
    subprocess.run(["podman", "exec", container, "sh", "-c", 'rm -rf "$1" && mkdir -p "$(dirname "$1")"', "sh", target],
                   check=True, capture_output=True)
    subprocess.run(["podman", "cp", repo, "%s:%s" % (container, target)], check=True, capture_output=True)
    subprocess.run(["podman", "cp", os.path.join(keydir, key + ".gpg"), "%s:%s/%s" % (container, dest.rstrip("/"), key_name)],
                   check=True, capture_output=True)
    subprocess.run(["podman", "exec", container, "chmod", "-R", "a+rX", dest], check=True, capture_output=True)


def build(repo, suite, component, signers):
    dist = os.path.join(repo, "dists", suite)
    shutil.rmtree(dist, ignore_errors=True)
    entries = []
    for arch in ARCHES:
        rel = "%s/binary-%s" % (component, arch)
        os.makedirs(os.path.join(dist, rel))
        for name, data in (("Packages", b""), ("Packages.gz", gzip.compress(b"", mtime=0))):
            with open(os.path.join(dist, rel, name), "wb") as handle:
                handle.write(data)
            entries.append(("%s/%s" % (rel, name), data))
    lines = [
        "Origin: jellyfin-remote-lab", "Label: lab", "Suite: %s" % suite, "Codename: %s" % suite,
        "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime()),
        "Architectures: %s" % " ".join(ARCHES), "Components: %s" % component,
        "Description: test-lab stand-in for a vendor apt repository",
    ]
    for field, algo in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
        lines.append("%s:" % field)
        lines += [" %s %16d %s" % (algo(data).hexdigest(), len(data), path) for path, data in entries]
    release = ("\n".join(lines) + "\n").encode()
    with open(os.path.join(dist, "Release"), "wb") as handle:
        handle.write(release)
    # Sign from a scratch keyring holding every signer's secret key.
    with tempfile.TemporaryDirectory() as home:
        os.chmod(home, 0o700)
        users = []
        try:
            for signer in signers:
                src = signer + ".gnupg"
                fpr = fingerprint(src)
                secret = _gpg(src, "--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys", fpr).stdout
                _gpg(home, "--import", data=secret)
                users += ["--local-user", fpr]
            inrelease = _gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--digest-algo", "SHA512",
                             *users, "--clearsign", "--output", "-", data=release).stdout
            detached = _gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--digest-algo", "SHA512",
                            *users, "--detach-sign", "--armor", "--output", "-", data=release).stdout
        finally:
            subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True, check=False)
            for signer in signers:
                subprocess.run(["gpgconf", "--homedir", signer + ".gnupg", "--kill", "gpg-agent"],
                               capture_output=True, check=False)
    with open(os.path.join(dist, "InRelease"), "wb") as handle:
        handle.write(inrelease)
    with open(os.path.join(dist, "Release.gpg"), "wb") as handle:
        handle.write(detached)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen")
    k.add_argument("keydir")
    k.add_argument("name")
    b = sub.add_parser("build")
    b.add_argument("repo")
    b.add_argument("--suite", default="any")
    b.add_argument("--component", default="main")
    b.add_argument("--sign", action="append", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("keydir")
    pub.add_argument("--sign", action="append", required=True, help="key names that sign the Release file")
    pub.add_argument("--key", required=True, help="key name published as the vendor's key file")
    pub.add_argument("--container", required=True)
    pub.add_argument("--dest", required=True, help="directory in the container, e.g. /srv/lab-apt/cloudflare")
    args = parser.parse_args(argv)
    if args.cmd == "keygen":
        print(keygen(args.keydir, args.name))
    elif args.cmd == "build":
        build(args.repo, args.suite, args.component, args.sign)
    else:
        publish(args.keydir, args.sign, args.key, args.container, args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
