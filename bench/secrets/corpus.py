"""The secrets corpus: well-formed fakes of each credential kind and benign
look-alikes, generated (seeded) at bench time so that no credential-shaped
literal sits in the repository. Writes, under OUT:

- kingfisher/<sample>.env: the sample's variables as NAME=value lines;
- events/<sample>.json: a RegisterTaskDefinition record with the same
  variables in one container's environment (event id = sample id);
- corpus.json: [{"id", "kind", "expect": "secret" | "benign"}].

usage: corpus.py OUT
"""

import base64
import json
import os
import random
import string
import sys
import zlib

rng = random.Random(20261201)
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
HEX = "0123456789abcdef"
B64URL = string.ascii_letters + string.digits + "-_"


def pick(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def crc_token(prefix):
    payload = pick(B62, 30)
    value = zlib.crc32(payload.encode())
    digits = ""
    for _ in range(6):
        digits = B62[value % 62] + digits
        value //= 62
    return prefix + payload + digits


def b64(text):
    return base64.b64encode(text.encode()).decode()


def b64url(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def pem():
    body = "\n".join(pick(string.ascii_letters + string.digits + "+/", 64) for _ in range(4))
    return "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----"


def jwt():
    header = b64url('{"alg":"HS256","typ":"JWT"}')
    claims = b64url('{"sub":"1234567890","name":"svc","iat":1700000000}')
    return f"{header}.{claims}.{pick(B64URL, 43)}"


akia = "AKIA" + pick(string.ascii_uppercase + "234567", 16)
secret_key = pick(string.ascii_letters + string.digits + "+/", 40)

SECRETS = [
    ("aws-access-key-id", [("S3_UPLOAD_KEY", akia)]),
    ("aws-key-pair", [("AWS_ACCESS_KEY_ID", akia), ("AWS_SECRET_ACCESS_KEY", secret_key)]),
    ("github-classic-token", [("GH_TOKEN", crc_token("ghp_"))]),
    ("github-oauth-token", [("GH_OAUTH", crc_token("gho_"))]),
    ("github-fine-grained-token", [("GH_PAT", "github_pat_" + pick(B62, 22) + "_" + pick(B62, 59))]),
    ("gitlab-token", [("GITLAB_TOKEN", "glpat-" + pick(B62 + "-_", 20))]),
    ("npm-token", [("NPM_TOKEN", crc_token("npm_"))]),
    ("pypi-token", [("PYPI_TOKEN", "pypi-AgEIcHlwaS5vcmc" + pick(B64URL, 70))]),
    ("slack-bot-token", [("SLACK_BOT", "xoxb-" + "-".join([pick(string.digits, 12), pick(string.digits, 13), pick(B62, 24)]))]),
    ("slack-webhook", [("ALERTS_HOOK", "https://hooks.slack.com/services/T" + pick(string.ascii_uppercase + string.digits, 10) + "/B" + pick(string.ascii_uppercase + string.digits, 10) + "/" + pick(B62, 24))]),
    ("stripe-live-key", [("STRIPE", "sk_live_" + pick(B62, 99))]),
    ("openai-project-key", [("OPENAI", "sk-proj-" + pick(B64URL, 120) + "T3BlbkFJ" + pick(B64URL, 40))]),
    ("anthropic-key", [("CLAUDE", "sk-ant-api03-" + pick(B64URL, 93) + "AA")]),
    ("google-api-key", [("MAPS", "AIza" + pick(B64URL, 35))]),
    ("shopify-token", [("SHOP", "shpat_" + pick(HEX, 32))]),
    ("databricks-token", [("DBX", "dapi" + pick(HEX, 32))]),
    ("mailgun-key", [("MAILGUN", "key-" + pick(HEX, 32))]),
    ("twilio-api-key", [("TWILIO_KEY_SID", "SK" + pick(HEX, 32))]),
    ("sendgrid-key", [("SENDGRID", "SG." + pick(B64URL, 22) + "." + pick(B64URL, 43))]),
    ("digitalocean-token", [("DO", "dop_v1_" + pick(HEX, 64))]),
    ("vault-token", [("VAULT", "hvs." + pick(B64URL, 90))]),
    ("docker-hub-token", [("DOCKER", "dckr_pat_" + pick(B64URL, 27))]),
    ("huggingface-token", [("HF", "hf_" + pick(string.ascii_letters, 34))]),
    ("telegram-bot-token", [("BOT", pick(string.digits[1:], 1) + pick(string.digits, 9) + ":AA" + pick(B64URL, 33))]),
    ("azure-storage-connection", [("STORAGE", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" + pick(string.ascii_letters + string.digits + "+/", 86) + "==;EndpointSuffix=core.windows.net")]),
    ("private-key", [("TLS_KEY", pem())]),
    ("jwt", [("SERVICE_JWT", jwt())]),
    ("url-credentials", [("DATABASE_URL", "postgres://app:" + pick(B62, 16) + "@db.internal:5432/app")]),
    ("password-named", [("DB_PASSWORD", "Tr0ub4dor&3-horse")]),
    ("mailchimp-key", [("MAILCHIMP", pick(HEX, 32) + "-us21")]),
    ("linear-key", [("LINEAR", "lin_api_" + pick(B62, 40))]),
    ("newrelic-key", [("NEW_RELIC", "NRAK-" + pick(string.ascii_uppercase + string.digits, 27))]),
    ("doppler-token", [("DOPPLER", "dp.pt." + pick(B62, 43))]),
    ("grafana-token", [("GRAFANA", "glsa_" + pick(B62, 32) + "_" + pick(HEX, 8))]),
    ("high-entropy-key", [("SIGNING_KEY", pick(B62, 48))]),
]

bad_crc = "ghp_" + pick(B62, 36)
BENIGN = [
    ("base64-json-config", [("APP_CONFIG", b64(json.dumps({"feature_flags": {"checkout_v2": True, "search": "beta"}, "region": "eu-west-1", "retries": 3})))]),
    ("secret-file-path", [("DB_PASSWORD_FILE", "/run/secrets/db_password")]),
    ("token-url", [("OAUTH_TOKEN_URL", "https://auth.example.com/oauth2/token")]),
    ("aws-documentation-example", [("AWS_ACCESS_KEY_ID", "AKIA" + "IOSFODNN7EXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY")]),
    ("uuid", [("TENANT_ID", "550e8400-e29b-41d4-a716-446655440000")]),
    ("commit-sha", [("GIT_COMMIT", pick(HEX, 40))]),
    ("image-digest", [("IMAGE_DIGEST", "sha256:" + pick(HEX, 64))]),
    ("github-shape-bad-checksum", [("BUILD_ID", bad_crc)]),
    ("base64-text", [("WELCOME", b64("Welcome to the orders service, have a nice day."))]),
    ("hostname", [("DB_HOST", "orders-db.cluster-c9x1abcd2efg.eu-west-1.rds.amazonaws.com")]),
    ("secret-arn", [("DB_SECRET", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:orders-db-AbCdEf")]),
    ("placeholder", [("API_TOKEN", "${API_TOKEN}")]),
]


def main():
    out = sys.argv[1]
    for sub in ("kingfisher", "events"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    corpus = []
    for expect, samples in (("secret", SECRETS), ("benign", BENIGN)):
        for kind, variables in samples:
            sample = f"{expect}-{kind}"
            corpus.append({"id": sample, "kind": kind, "expect": expect})
            with open(os.path.join(out, "kingfisher", sample + ".env"), "w") as f:
                for name, value in variables:
                    f.write(f"{name}={json.dumps(value) if chr(10) in value else value}\n")
            record = {
                "eventVersion": "1.08", "eventID": sample, "eventName": "RegisterTaskDefinition",
                "eventSource": "ecs.amazonaws.com", "eventTime": "2026-12-01T00:00:00Z",
                "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
                "requestParameters": {"family": "corpus", "containerDefinitions": [{
                    "name": "app", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:1.0",
                    "environment": [{"name": n, "value": v} for n, v in variables]}]},
            }
            with open(os.path.join(out, "events", sample + ".json"), "w") as f:
                json.dump(record, f)
    with open(os.path.join(out, "corpus.json"), "w") as f:
        json.dump(corpus, f, indent=1)
    print(f"corpus: {sum(c['expect'] == 'secret' for c in corpus)} secrets, {sum(c['expect'] == 'benign' for c in corpus)} benign look-alikes")


main()
