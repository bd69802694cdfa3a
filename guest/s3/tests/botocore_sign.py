import sys, json, datetime
from unittest import mock
import botocore.auth, botocore.awsrequest, botocore.credentials
spec = json.loads(sys.argv[1])
class Fixed(datetime.datetime):
    @classmethod
    def utcnow(cls): return cls(2024, 1, 2, 3, 4, 5)
    @classmethod
    def now(cls, tz=None): return cls(2024, 1, 2, 3, 4, 5, tzinfo=tz)
creds = botocore.credentials.Credentials(spec["ak"], spec["sk"], spec.get("token"))
req = botocore.awsrequest.AWSRequest(method=spec["method"], url=spec["url"], data=bytes(spec["body"], "utf-8"), headers=spec["headers"])
with mock.patch("botocore.auth.datetime.datetime", Fixed):
    botocore.auth.S3SigV4Auth(creds, "s3", spec["region"]).add_auth(req)
print(json.dumps({k.lower(): v for k, v in req.headers.items()}))
