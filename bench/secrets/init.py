"""Cold init of a guard function: spawn → its first GET of the next
invocation from a minimal Lambda Runtime API (no event is ever handed out;
the process is stopped once it asks). Median and max over RUNS spawns.

usage: init.py BINARY [RUNS]
"""

import http.server
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

binary = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
asked = threading.Event()


class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            asked.set()
        time.sleep(0.2)

    def log_message(self, *args):
        pass


sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Api)
threading.Thread(target=server.serve_forever, daemon=True).start()

env = dict(os.environ,
           AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_LAMBDA_FUNCTION_NAME="task-definition-guard",
           AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="1",
           AWS_REGION="eu-west-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
           AWS_EC2_METADATA_DISABLED="true",
           ACCESS_GUARD_TOPIC_ARN="arn:aws:sns:eu-west-1:111122223333:alerts")
times = []
for _ in range(runs):
    asked.clear()
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not asked.wait(10):
        proc.kill()
        sys.exit(f"{binary} never asked for an invocation")
    times.append((time.perf_counter() - start) * 1000)
    proc.kill()
    proc.wait()
print(f"{os.path.basename(binary)}: init median {statistics.median(times):.2f} ms, max {max(times):.2f} ms over {runs} spawns")
