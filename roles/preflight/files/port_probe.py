# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port probe's side outside the home (standard library only; run as python3 -c on the
probe host, an inventory host outside the home the owner controls: a VPS, a friend's machine).

Arguments: one JSON object: address (the home's public IPv4), ports (external TCP ports),
token (the run's nonce from the home's listener), timeout (seconds per port).
For every port at once: a TCP connect to address:port, the line
"jellyfin_remote-port-probe <token> <port>" sent, one line read back. Prints a JSON list, one
object per port: port, outcome (connected | timeout | refused | error), reply_ok (the answer
is the one only the home's listener gives for this token and port), error, timeout.
Whether a port reaches the home is decided at home (the listener must have got the token);
this side says what the probe host saw. Sends nothing else; changes nothing.
"""

import hashlib
import json
import socket
import sys
import threading

PREFIX = "jellyfin_remote-port-probe"


def expected_reply(token, port):
    return "%s-ok %s" % (PREFIX, hashlib.sha256(("%s:%d" % (token, port)).encode()).hexdigest()[:32])


def try_port(address, port, token, timeout):
    out = {"port": port, "outcome": "error", "reply_ok": False, "error": None, "timeout": timeout}
    try:
        conn = socket.create_connection((address, port), timeout=timeout)
    except socket.timeout:
        out["outcome"] = "timeout"
        return out
    except ConnectionRefusedError:
        out["outcome"] = "refused"
        return out
    except OSError as exc:
        out["error"] = str(exc) or exc.__class__.__name__
        return out
    out["outcome"] = "connected"
    try:
        conn.sendall(("%s %s %d\n" % (PREFIX, token, port)).encode())
        data = b""
        while b"\n" not in data and len(data) < 512:
            chunk = conn.recv(512)
            if not chunk:
                break
            data += chunk
        out["reply_ok"] = data.split(b"\n", 1)[0].decode("ascii", "replace").strip() == expected_reply(token, port)
    except OSError as exc:
        out["error"] = str(exc) or exc.__class__.__name__
    finally:
        conn.close()
    return out


def probe(address, ports, token, timeout=3.0):
    results = {}

    def run(port):
        results[port] = try_port(address, port, token, timeout)

    threads = [threading.Thread(target=run, args=(int(port),)) for port in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[int(port)] for port in ports]


def main():
    args = json.loads(sys.argv[1])
    print(json.dumps(probe(args["address"], args["ports"], args["token"], float(args.get("timeout") or 3)),
                     sort_keys=True))


if __name__ == "__main__":
    main()
