"""Checks SigV4 signatures with botocore's SigV4Auth, an implementation independent of the kit's (@smithy).

stdin: {"service", "region", "credentials": {"accessKeyId", "secretAccessKey", "sessionToken"?},
        "requests": [{"method", "url", "headers": {lower-case name: value}, "body"}]}
stdout: one result per request: {"ok", "signature", "expected", "scope", "signedHeaders", "computedSignedHeaders"}
"""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def verify(auth, request):
    headers = request["headers"]
    algorithm, _, rest = headers["authorization"].partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    signed = fields["SignedHeaders"].split(";")
    # Only the headers the signer named take part, exactly as a verifying server does.
    aws_request = AWSRequest(
        method=request["method"],
        url=request["url"],
        headers={name: headers[name] for name in signed if name in headers},
        data=request["body"].encode("utf-8"),
    )
    aws_request.context["timestamp"] = headers["x-amz-date"]
    canonical = auth.canonical_request(aws_request)
    expected = auth.signature(auth.string_to_sign(aws_request, canonical), aws_request)
    scope = fields["Credential"].split("/", 1)[1]
    return {
        "ok": algorithm == "AWS4-HMAC-SHA256"
        and expected == fields["Signature"]
        and scope == auth.credential_scope(aws_request),
        "signature": fields["Signature"],
        "expected": expected,
        "scope": scope,
        "accessKeyId": fields["Credential"].split("/", 1)[0],
        "signedHeaders": fields["SignedHeaders"],
        "computedSignedHeaders": auth.signed_headers(auth.headers_to_sign(aws_request)),
        "canonicalRequest": canonical,
    }


def main():
    job = json.load(sys.stdin)
    c = job["credentials"]
    auth = SigV4Auth(
        Credentials(c["accessKeyId"], c["secretAccessKey"], c.get("sessionToken")),
        job["service"],
        job["region"],
    )
    json.dump([verify(auth, r) for r in job["requests"]], sys.stdout)


if __name__ == "__main__":
    main()
