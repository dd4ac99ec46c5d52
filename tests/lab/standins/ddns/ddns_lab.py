#!/usr/bin/python3
"""Run the DDNS provider stand-in (tests/lab/standins/ddns/ddns_standin.py) for the lab's
internet host: HTTP on one address (the host's wan address; port 53 there belongs to the
IP-echo stand-in) and DNS for its records on another (wan_alt:53), sharing one state.

Usage: ddns_lab.py --http ADDR:PORT --dns ADDR:PORT --state FILE --credentials FILE
"""

import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddns_standin  # noqa: E402


def _pair(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http", required=True, type=_pair)
    parser.add_argument("--dns", required=True, type=_pair)
    parser.add_argument("--state")
    parser.add_argument("--credentials")
    args = parser.parse_args()
    credentials = None
    if args.credentials:
        with open(args.credentials) as handle:
            credentials = json.load(handle)
    state = ddns_standin.State(args.state, credentials)
    dns = ddns_standin.DnsServer(args.dns, state)
    dns.thread.start()
    http = ddns_standin.HttpServer(args.http, state)
    threading.current_thread().name = "http"
    http.serve_forever()


if __name__ == "__main__":
    main()
