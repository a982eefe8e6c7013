"""The Lambda Python runtime loop, as much of it as the benchmark needs.

Like the AWS Python runtime, it imports the handler module at init (the
Custodian package's `custodian_policy.py` is `from c7n import handler`), then
asks the Runtime API for events and posts each result. The policy is read
from `config.json` in the working directory, as in a Custodian package.
"""
import http.client
import json
import os
import traceback

from c7n import handler  # noqa: E402  (init: what a cold start pays for)

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime/invocation"


class Context:
    def __init__(self, request_id):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "custodian")


def main():
    conn = http.client.HTTPConnection(API)
    while True:
        conn.request("GET", BASE + "/next")
        response = conn.getresponse()
        event = json.loads(response.read())
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        try:
            result = handler.dispatch_event(event, Context(request_id))
            path, body = f"{BASE}/{request_id}/response", json.dumps(result)
        except Exception as e:  # reported to the Runtime API, as Lambda does
            path = f"{BASE}/{request_id}/error"
            body = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e),
                               "stackTrace": traceback.format_exc().splitlines()})
        conn.request("POST", path, body)
        conn.getresponse().read()


main()
