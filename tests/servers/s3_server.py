#!/usr/bin/python3
"""A loopback S3 server for the fetch tests that checks EVERY request's
AWS Signature V4 with botocore (Debian's python3-botocore) as the oracle.

Popular fake S3 servers do not check signatures, so a signing bug in the
client would pass against them.  Here each request is re-signed with
botocore's own S3 signers (S3SigV4Auth for the Authorization header,
S3SigV4QueryAuth for presigned URLs) from the canonical form of what
arrived, and refused with S3's XML error when the signature differs:

  403 SignatureDoesNotMatch   the signature is not botocore's
  403 InvalidAccessKeyId      unknown access key
  403 AccessDenied            no credentials (the bucket is not public), or
                              a presigned URL past X-Amz-Expires ("Request has expired")
  403 RequestTimeTooSkewed    X-Amz-Date more than 15 minutes off
  400 MissingSecurityHeader   no x-amz-content-sha256 with an Authorization header
  404 NoSuchBucket / NoSuchKey

The path and query are canonicalised as S3 does (decoded, then re-encoded:
RFC 3986 unreserved characters stay, everything else is %XX, query
parameters sorted), so a client that encodes a key differently from S3's
canonical form fails, as it would against AWS.

Buckets are the directories under --root, objects the files below them (the
key is the relative path).  Supported: ListObjectsV2 (list-type=2, prefix,
delimiter-less, max-keys capped by --max-keys, continuation-token,
start-after, encoding-type=url), GET/HEAD object with a single Range.  ETags
are the MD5 of the content, or for objects larger than --multipart-part-size
the multipart form (MD5 of the parts' MD5s, "-N") that S3 gives an object
uploaded in parts.  Virtual-hosted addressing: a Host of BUCKET.localhost:PORT
names the bucket.  --public BUCKET allows unsigned requests to it.

  GET /_stats   JSON: per "bucket/key": bytes, requests, statuses; "_auth": counts
                of accepted and refused signatures per error code; "_lists": the
                ListObjectsV2 requests served

--extra-key KEY lists KEY in every bucket with no object behind it, for
keys that no file name can carry (.., //, control characters).

Listens on 127.0.0.1; the port goes to --port-file.
"""
import argparse
import datetime
import hashlib
import os
import sys
import threading
import urllib.parse

from handler import TestHandler
from serve import serve
from xml.sax.saxutils import escape

try:
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - the test skips without botocore
    sys.stderr.write("s3_server.py needs python3-botocore (/usr/bin/python3)\n")
    sys.exit(3)

ARGS = None
LOCK = threading.Lock()
STATS = {"_auth": {}, "_lists": []}
KEYS = {}   # access key -> (secret, session token or None)
NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def count(kind):
    with LOCK:
        STATS["_auth"][kind] = STATS["_auth"].get(kind, 0) + 1


def obj_stat(name):
    return STATS.setdefault(name, {"bytes": 0, "requests": 0, "statuses": []})


def s3_quote(s, safe):
    return urllib.parse.quote(s, safe=safe)


def etag_of(path, size):
    part = ARGS.multipart_part_size
    with open(path, "rb") as f:
        if part and size > part:
            digests = b""
            n = 0
            while True:
                chunk = f.read(part)
                if not chunk:
                    break
                digests += hashlib.md5(chunk).digest()
                n += 1
            return "%s-%d" % (hashlib.md5(digests).hexdigest(), n)
        return hashlib.md5(f.read()).hexdigest()


class AuthError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Handler(TestHandler):
    log_name = "s3"

    # ---- responses -------------------------------------------------------
    def send_xml(self, status, body, extra=None):
        data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()
        self.send_body(status, "application/xml", data, dict({"x-amz-request-id": "EIDFTEST"}, **(extra or {})))

    def error(self, status, code, message, resource=""):
        self.send_xml(status, "<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource>"
                      "<RequestId>EIDFTEST</RequestId></Error>"
                      % (code, escape(message), escape(resource)))

    # ---- addressing --------------------------------------------------------
    def split(self):
        """(bucket, key, raw path, query pairs) from path-style or
        virtual-hosted addressing."""
        raw_path, _, query = self.path.partition("?")
        host = (self.headers.get("Host") or "").split(":")[0]
        path = urllib.parse.unquote(raw_path)
        if host.endswith(".localhost"):
            bucket = host[: -len(".localhost")]
            key = path[1:]
        else:
            bucket, _, key = path[1:].partition("/")
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        return bucket, key, path, pairs

    # ---- signature check (botocore is the oracle) --------------------------
    def check_auth(self, bucket, path, pairs):
        auth = self.headers.get("Authorization")
        q = dict(pairs)
        host = self.headers.get("Host")
        url = "http://%s%s" % (host, s3_quote(path, "/~"))
        if auth is None and "X-Amz-Signature" not in q:
            if bucket in (ARGS.public or []):
                count("anonymous")
                return
            raise AuthError(403, "AccessDenied", "Access Denied")
        if auth is not None:
            if not auth.startswith("AWS4-HMAC-SHA256 "):
                raise AuthError(400, "InvalidArgument", "Unsupported Authorization Type")
            fields = {}
            for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
                k, _, v = part.strip().partition("=")
                fields[k] = v
            cred = fields.get("Credential", "")
            signed = fields.get("SignedHeaders", "")
            got = fields.get("Signature", "")
            date = self.headers.get("X-Amz-Date", "")
            if self.headers.get("x-amz-content-sha256") is None:
                raise AuthError(400, "MissingSecurityHeader",
                                "Your request was missing a required header: x-amz-content-sha256")
            params = pairs
            presigned = False
        else:
            cred = q.get("X-Amz-Credential", "")
            signed = q.get("X-Amz-SignedHeaders", "")
            got = q.get("X-Amz-Signature", "")
            date = q.get("X-Amz-Date", "")
            params = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
            presigned = True
        scope = cred.split("/")
        if len(scope) != 5 or scope[4] != "aws4_request" or scope[3] != "s3":
            raise AuthError(400, "AuthorizationHeaderMalformed", "The authorization header is malformed")
        ak, day, region = scope[0], scope[1], scope[2]
        if ak not in KEYS:
            raise AuthError(403, "InvalidAccessKeyId",
                            "The AWS Access Key Id you provided does not exist in our records.")
        if region != ARGS.region:
            raise AuthError(400, "AuthorizationHeaderMalformed",
                            "the region '%s' is wrong; expecting '%s'" % (region, ARGS.region))
        try:
            t = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise AuthError(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
        if not date.startswith(day):
            raise AuthError(403, "SignatureDoesNotMatch", "credential date does not match x-amz-date")
        now = datetime.datetime.now(datetime.timezone.utc)
        if presigned:
            expires = int(q.get("X-Amz-Expires", "0") or 0)
            if now > t + datetime.timedelta(seconds=expires):
                raise AuthError(403, "AccessDenied", "Request has expired")
        elif abs((now - t).total_seconds()) > 900:
            raise AuthError(403, "RequestTimeTooSkewed",
                            "The difference between the request time and the current time is too large.")
        secret, token = KEYS[ak]
        headers = {}
        for h in signed.split(";"):
            v = self.headers.get_all(h)
            if v is None:
                raise AuthError(403, "SignatureDoesNotMatch", "signed header %s is missing" % h)
            headers[h] = ",".join(v)
        if "host" not in headers:
            raise AuthError(403, "SignatureDoesNotMatch", "the host header must be signed")
        if token is not None:
            sent = headers.get("x-amz-security-token") if not presigned else q.get("X-Amz-Security-Token")
            if sent != token:
                raise AuthError(403, "InvalidToken", "The provided token is malformed or otherwise invalid.")
        creds = Credentials(ak, secret, token)
        signer = (S3SigV4QueryAuth if presigned else S3SigV4Auth)(creds, "s3", region)
        req = AWSRequest(method=self.command, url=url, headers=headers, params=params)
        req.context["timestamp"] = date
        canonical = signer.canonical_request(req)
        want = signer.signature(signer.string_to_sign(req, canonical), req)
        if want != got:
            if ARGS.verbose:
                sys.stderr.write("s3: canonical request (server):\n%s\n" % canonical)
            raise AuthError(403, "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature you "
                            "provided. Check your key and signing method.")
        count("ok")

    # ---- requests ------------------------------------------------------------
    def do_GET(self):
        if self.path.startswith("/_stats"):
            with LOCK:
                return self.send_json(200, STATS)
        bucket, key, path, pairs = self.split()
        try:
            self.check_auth(bucket, path, pairs)
        except AuthError as e:
            count(e.code)
            self.error(e.status, e.code, e.message, path)
            return
        bdir = os.path.join(ARGS.root, bucket)
        if not bucket or "/" in bucket or bucket.startswith(".") or not os.path.isdir(bdir):
            self.error(404, "NoSuchBucket", "The specified bucket does not exist", bucket)
            return
        if not key:
            self.list_v2(bucket, bdir, dict(pairs))
            return
        self.get_object(bucket, bdir, key)

    def all_keys(self, bdir):
        keys = []
        for top, _dirs, files in os.walk(bdir):
            for f in files:
                full = os.path.join(top, f)
                keys.append(os.path.relpath(full, bdir))
        return sorted(keys, key=lambda k: k.encode())

    def list_v2(self, bucket, bdir, q):
        if q.get("list-type") != "2":
            self.error(400, "InvalidArgument", "only ListObjectsV2 (list-type=2) is served here")
            return
        prefix = q.get("prefix", "")
        max_keys = min(int(q.get("max-keys", "1000") or 1000), ARGS.max_keys)
        start = q.get("start-after", "")
        token = q.get("continuation-token")
        if token is not None:
            try:
                start = bytes.fromhex(token).decode()
            except ValueError:
                self.error(400, "InvalidArgument", "The continuation token provided is incorrect")
                return
        enc = q.get("encoding-type") == "url"
        keys = sorted(set(self.all_keys(bdir)) | set(ARGS.extra_key), key=lambda k: k.encode())
        keys = [k for k in keys if k.startswith(prefix) and k.encode() > start.encode()]
        page, rest = keys[:max_keys], keys[max_keys:]
        with LOCK:
            STATS["_lists"].append({"bucket": bucket, "prefix": prefix, "token": token, "n": len(page)})

        def enc_key(k):
            return urllib.parse.quote_plus(k, safe="/") if enc else escape(k)
        out = ['<ListBucketResult xmlns="%s"><Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount>'
               '<MaxKeys>%d</MaxKeys>' % (NS, escape(bucket), enc_key(prefix), len(page), max_keys)]
        if enc:
            out.append("<EncodingType>url</EncodingType>")
        out.append("<IsTruncated>%s</IsTruncated>" % ("true" if rest else "false"))
        if token is not None:
            out.append("<ContinuationToken>%s</ContinuationToken>" % token)
        if rest:
            out.append("<NextContinuationToken>%s</NextContinuationToken>" % page[-1].encode().hex())
        for k in page:
            full = os.path.join(bdir, k)
            if k in ARGS.extra_key:   # listed only: a hostile key
                size, etag, mtime = 1, "0" * 32, datetime.datetime.now(datetime.timezone.utc)
            else:
                st = os.stat(full)
                size, etag = st.st_size, etag_of(full, st.st_size)
                mtime = datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc)
            out.append("<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>&quot;%s&quot;</ETag>"
                       "<Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>"
                       % (enc_key(k), mtime.strftime("%Y-%m-%dT%H:%M:%S.000Z"), etag, size))
        out.append("</ListBucketResult>")
        self.send_xml(200, "".join(out))

    def get_object(self, bucket, bdir, key):
        full = os.path.realpath(os.path.join(bdir, key))
        name = bucket + "/" + key
        if not full.startswith(os.path.realpath(bdir) + "/") or not os.path.isfile(full):
            self.error(404, "NoSuchKey", "The specified key does not exist.", key)
            return
        size = os.path.getsize(full)
        etag = etag_of(full, size)
        im = self.headers.get("If-Match")
        if im is not None and im.strip() not in ('"%s"' % etag, "*"):
            with LOCK:
                obj_stat(name)["statuses"].append(412)
            self.error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                       key)
            return
        self.send_file(full, size, {"ETag": '"%s"' % etag},
                       on_status=lambda status: self.count_object(name, status),
                       on_bytes=lambda n: self.add_bytes(name, n))

    def count_object(self, name, status):
        with LOCK:
            s = obj_stat(name)
            if status != 416:   # a range past the end is no download
                s["requests"] += 1
            s["statuses"].append(status)

    def add_bytes(self, name, n):
        with LOCK:
            obj_stat(name)["bytes"] += n


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--key", action="append", default=[],
                    help="ACCESS:SECRET[:SESSION_TOKEN] accepted (repeatable)")
    ap.add_argument("--public", action="append", help="bucket readable without credentials")
    ap.add_argument("--max-keys", type=int, default=1000, help="cap on keys per listing page")
    ap.add_argument("--multipart-part-size", type=int, default=0)
    ap.add_argument("--extra-key", action="append", default=[],
                    help="a key listed in every bucket without an object behind it (hostile names)")
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    Handler.verbose = ARGS.verbose
    for k in ARGS.key:
        parts = k.split(":")
        KEYS[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else None)
    serve(Handler, ARGS.port, ARGS.port_file)


if __name__ == "__main__":
    main()
