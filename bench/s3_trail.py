"""A CloudTrail trail for scripts/bench_s3.sh: MB of JSON in log files of
about 5 MB each (gzipped), in CloudTrail's key layout over 2 accounts, 2
regions and a day each, written under DIR and to a new bucket of the S3 at
ENDPOINT. The records are the sample events' (each with its own event id)
among DescribeInstances calls, as a trail mostly is. Prints the bucket, the
MB of JSON and the number of objects.

    python bench/s3_trail.py ENDPOINT DIR MB
"""

import gzip
import json
import os
import pathlib
import sys
import time

import boto3

endpoint, out, mb = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
root = pathlib.Path(__file__).resolve().parent.parent
samples = [json.loads(p.read_text())["detail"] for p in sorted((root / "events").glob("*.json"))]
filler = {
    "eventVersion": "1.09", "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
    "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.0",
    "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/ReadOnly/ci"},
    "requestParameters": {"instancesSet": {}, "filterSet": {}}, "responseElements": None,
    "eventType": "AwsApiCall", "readOnly": True, "managementEvent": True,
}
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
bucket = f"trail-bench-{os.getpid()}-{int(time.time())}"
s3.create_bucket(Bucket=bucket)
places = [(a, r) for a in ("111122223333", "444455556666") for r in ("eu-west-1", "us-east-1")]
target, written, objects, n = mb * 1024 * 1024, 0, 0, 0
while written < target:
    account, region = places[objects % len(places)]
    records, size = [], 0
    while size < 5 * 1024 * 1024:
        record = dict(samples[n % len(samples)] if n % 20 == 0 else filler)
        record["eventID"] = f"bench-{n}"
        record["recipientAccountId"] = account
        text = json.dumps(record)
        records.append(record)
        size += len(text) + 1
        n += 1
    body = json.dumps({"Records": records}).encode()
    key = (f"AWSLogs/o-bench12345/{account}/CloudTrail/{region}/2026/11/02/"
           f"{account}_CloudTrail_{region}_20261102T{objects:04d}Z_bench.json.gz")
    data = gzip.compress(body, 6)
    path = out / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    written += len(body)
    objects += 1
print(bucket, round(written / 1024 / 1024), objects)
