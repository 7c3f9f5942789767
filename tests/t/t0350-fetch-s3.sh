#!/bin/bash
# fetch s3://BUCKET/PREFIX against tests/servers/s3_server.py, which checks
# every request's AWS Signature V4 with botocore as the oracle: the listing
# (the client, libcurl's SigV4), the downloads (the Job's curl --aws-sigv4),
# and the oracle itself (wrong secret, tampered query, expired presigned URL).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! command -v busybox >/dev/null || ! command -v curl >/dev/null; then
	test_skip "fetch s3 tests" "needs busybox and curl"
	test_done
fi
if ! $PY -c 'import botocore' 2>/dev/null; then
	test_skip "fetch s3 tests" "needs python3-botocore for /usr/bin/python3 (tests/install-deps.sh)"
	test_done
fi
FETCH=$EIDF_BIN/kubectl-eidf-fetch
SCRIPT=$EIDF_SRC/plugins/fetch/fetch-job.sh
AK=AKIAEIDFTEST0000001
SK='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
AK2=ASIAEIDFSESSION00002 SK2=sessionSecret/2 TOK2='FwoGZXIvYXdzEB0aD+token/with=chars'
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION \
	AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
export HOME=$TRASH/home AWS_SHARED_CREDENTIALS_FILE=$TRASH/no-such-file
mkdir -p "$HOME" root/bkt/data/sub root/bkt/other root/pub pvc

# the bucket: 9 objects under data/ (a small page size makes it 4 pages),
# a key with spaces and unicode, a multipart-sized object, one elsewhere
for i in 1 2 3 4 5 6 7; do head -c $((1000 + i)) /dev/urandom >"root/bkt/data/f$i.bin"; done
head -c 300000 /dev/urandom >root/bkt/data/multi.bin
echo "spaces and unicode" >"root/bkt/data/sub/a b ü+x.txt"
echo other >root/bkt/other/o.txt
echo public >root/pub/p.txt
$PY "$EIDF_SRC/tests/servers/s3_server.py" --root root --port-file port --region eu-west-2 \
	--key "$AK:$SK" --key "$AK2:$SK2:$TOK2" --public pub --max-keys 3 \
	--multipart-part-size 100000 --extra-key "evil/../../x" --extra-key "evil//abs" \
	--extra-key "evil/ctl$(printf "\001")x" >s3.log 2>&1 &
test_atexit "kill $!"
wait_for 10 test -s port || { echo "Bail out! the S3 server did not start"; cat s3.log; exit 1; }
EP=http://127.0.0.1:$(cat port)
S3="--s3-endpoint $EP --s3-region eu-west-2"
stats() { curl -fsS "$EP/_stats" | $PY -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
# the list the Job gets (EIDF_FETCH_LIST of a --dry-run=client -o json Job)
list_of() {
	$PY -c 'import json, sys
for e in json.load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]["env"]:
    if e["name"] == "EIDF_FETCH_LIST":
        sys.stdout.write(e["value"])' "$1"
}

test_expect_success 'listing: ListObjectsV2 pages (max-keys 3) signed with SigV4, every object listed' '
	AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/data/ $S3 --s3-secret keys \
		--pvc data -n ns --dry-run=client -o json >job.yaml &&
	list_of job.yaml >list && cat list &&
	test "$(wc -l <list)" = 9 &&
	test "$(stats "len(s[\"_lists\"])")" = 3 &&
	test "$(stats "s[\"_auth\"].get(\"ok\", 0)")" = 3 &&
	test "$(stats "sum(1 for k in s[\"_auth\"] if k not in (\"ok\", \"anonymous\"))")" = 0 &&
	grep -q "/bkt/data/f1.bin	-	f1.bin	size=1001	etag=$(md5sum <root/bkt/data/f1.bin | cut -d" " -f1)	auth=s3$" list &&
	grep -q "/bkt/data/sub/a%20b%20%C3%BC%2Bx.txt	-	sub/a b ü+x.txt	size=19	etag=[0-9a-f]*	auth=s3$" list &&
	grep -q "multi.bin	size=300000	etag=[0-9a-f]*-3	auth=s3$" list &&
	test_grep "\"/mnt/ceph/bkt\"" job.yaml &&
	! grep -e "$SK" -e "$AK" job.yaml &&
	test_grep "\"secretName\": *\"keys\"" job.yaml
'

test_expect_success 'prefix without a slash, --include/--exclude globs on the names' '
	AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/data/f $S3 --s3-secret keys \
		--include "*.bin" --exclude "*[67]*" --pvc data -n ns --dry-run=client -o json >job.yaml &&
	list_of job.yaml | cut -f3 >names &&
	printf "f1.bin\nf2.bin\nf3.bin\nf4.bin\nf5.bin\n" >want && test_cmp want names &&
	test_expect_code 1 env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/data/ $S3 \
		--s3-secret keys --include "*.csv" --pvc data -n ns --dry-run=client 2>err &&
	test_grep "none of the 9 object(s) is kept by --include/--exclude" err
'

test_expect_success 'virtual-hosted addressing: BUCKET.localhost, signed for that host' '
	AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/other/ --s3-endpoint "http://localhost:$(cat port)" \
		--s3-region eu-west-2 --s3-addressing virtual --s3-secret keys --pvc data -n ns --dry-run=client -o json >job.yaml &&
	list_of job.yaml >list &&
	grep -q "^http://bkt.localhost:$(cat port)/other/o.txt	-	o.txt	size=6" list
'

test_expect_success 'session credentials: the token is signed; without it InvalidToken' '
	AWS_ACCESS_KEY_ID=$AK2 AWS_SECRET_ACCESS_KEY=$SK2 AWS_SESSION_TOKEN=$TOK2 $FETCH s3://bkt/other/ $S3 \
		--s3-secret keys --pvc data -n ns --dry-run=client -o json >job.yaml &&
	test_expect_code 1 env AWS_ACCESS_KEY_ID=$AK2 AWS_SECRET_ACCESS_KEY=$SK2 $FETCH s3://bkt/other/ $S3 \
		--s3-secret keys --pvc data -n ns --dry-run=client 2>err &&
	test_grep "HTTP 403 InvalidToken" err
'

test_expect_success 'credentials from a ~/.aws/credentials profile (--s3-profile)' '
	mkdir -p "$HOME/.aws" &&
	printf "[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[eidf]\naws_access_key_id = %s\naws_secret_access_key = %s\n" \
		"$AK" "$SK" >"$HOME/.aws/credentials" &&
	AWS_SHARED_CREDENTIALS_FILE= $FETCH s3://bkt/other/ $S3 --s3-profile eidf --s3-secret keys \
		--pvc data -n ns --dry-run=client -o json >job.yaml &&
	test_expect_code 1 env AWS_SHARED_CREDENTIALS_FILE= $FETCH s3://bkt/other/ $S3 --s3-secret keys \
		--pvc data -n ns --dry-run=client 2>err &&
	test_grep "access key nope (profile default of .*) refused: HTTP 403 InvalidAccessKeyId" err &&
	test_expect_code 1 env AWS_SHARED_CREDENTIALS_FILE= $FETCH s3://bkt/other/ $S3 --s3-profile gone \
		--s3-secret keys --pvc data -n ns --dry-run=client 2>err &&
	test_grep "AWS profile \"gone\" not found" err &&
	rm -r "$HOME/.aws"
'

test_expect_success 'refusals: wrong secret, unknown key, missing bucket, wrong region, no credentials' '
	test_expect_code 1 env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=wrong $FETCH s3://bkt/data/ $S3 \
		--s3-secret keys --pvc data -n ns --dry-run=client 2>err &&
	test_grep "^error: s3://bkt/data/: listing bucket bkt with access key $AK (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) refused: HTTP 403 SignatureDoesNotMatch (.*); check the access key and secret key$" err &&
	! grep -e wrong err &&
	test_expect_code 1 env AWS_ACCESS_KEY_ID=AKIANOBODY AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/data/ $S3 \
		--s3-secret keys --pvc data -n ns --dry-run=client 2>err &&
	test_grep "HTTP 403 InvalidAccessKeyId" err &&
	test_expect_code 1 env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://nobucket/x $S3 \
		--s3-secret keys --pvc data -n ns --dry-run=client 2>err &&
	test_grep "listing bucket nobucket .* HTTP 404 NoSuchBucket .*; check the bucket name and --s3-endpoint$" err &&
	test_expect_code 1 env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/data/ \
		--s3-endpoint $EP --s3-region us-east-1 --s3-secret keys --pvc data -n ns --dry-run=client 2>err &&
	test_grep "AuthorizationHeaderMalformed.*; check --s3-region$" err &&
	test_expect_code 1 $FETCH s3://bkt/data/ $S3 --pvc data -n ns --dry-run=client 2>err &&
	test_grep "HTTP 403 AccessDenied (Access Denied); the bucket is not public" err &&
	test_expect_code 1 env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/nothing/ $S3 \
		--s3-secret keys --pvc data -n ns --dry-run=client 2>err &&
	test_grep "no objects under this prefix in bucket bkt" err
'

test_expect_success 'usage: keys need a Secret for the Job; hostile keys refused like URLs' '
	test_expect_code 2 env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/data/ $S3 \
		--pvc data -n ns --dry-run=client 2>err &&
	test_grep "the Job needs the S3 keys in a Secret, never in its spec: kubectl create secret generic s3-keys" err &&
	n=0 &&
	for g in "../*" "/*" "ctl*"; do
		n=$((n + 1)) &&
		test_expect_code 2 env AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/evil/ $S3 \
			--include "$g" --s3-secret keys --pvc data -n ns --dry-run=client 2>err$n || return 1
	done &&
	cat err1 err2 err3 &&
	test_grep "key \"evil/../../x\": path \"../../x\" contains \"..\"" err1 &&
	test_grep "key \"evil//abs\": file name \"/abs\" is absolute" err2 &&
	test_grep "key \"evil/ctl\\\\001x\": path contains a control character" err3 &&
	$FETCH s3://pub/p $S3 --pvc data -n ns --dry-run=client -o json >job.yaml &&
	list_of job.yaml >list && grep -q "/pub/p.txt	-	p.txt	size=7	etag=[0-9a-f]*$" list &&
	test_expect_code 2 $FETCH s3://bkt/data/ "$EP/x" --include "*" --sha256 abc --pvc data -n ns --dry-run=client 2>err &&
	test_expect_code 2 $FETCH "$EP/x" --include "*" --pvc data -n ns --dry-run=client 2>err &&
	test_grep "select files of a listed source" err &&
	test_expect_code 2 $FETCH "s3://b@d/x" --pvc data -n ns --dry-run=client 2>err &&
	test_grep "invalid bucket name" err
'

test_expect_success 'the oracle: presigned URLs (valid, tampered query, expired) and a wrong secret' '
	cat >presign.py <<-\EOF &&
	import datetime, sys
	from botocore.auth import S3SigV4QueryAuth
	from botocore.awsrequest import AWSRequest
	from botocore.credentials import Credentials
	url, ak, sk, expires, age = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
	req = AWSRequest(method="GET", url=url)
	t = datetime.datetime.utcnow() - datetime.timedelta(seconds=age)
	req.context["timestamp"] = t.strftime("%Y%m%dT%H%M%SZ")
	auth = S3SigV4QueryAuth(Credentials(ak, sk), "s3", "eu-west-2", expires=expires)
	auth._modify_request_before_signing(req)
	cr = auth.canonical_request(req)
	auth._inject_signature_to_request(req, auth.signature(auth.string_to_sign(req, cr), req))
	print(req.url)
	EOF
	good=$($PY presign.py "$EP/bkt/other/o.txt" $AK "$SK" 600 0) &&
	test "$(curl -s "$good")" = other &&
	tampered=$(printf "%s" "$good" | sed "s/X-Amz-Expires=600/X-Amz-Expires=6000/") &&
	curl -s "$tampered" >body && test_grep "<Code>SignatureDoesNotMatch</Code>" body &&
	expired=$($PY presign.py "$EP/bkt/other/o.txt" $AK "$SK" 60 120) &&
	curl -s -w "%{http_code}" "$expired" >body && test_grep "<Code>AccessDenied</Code><Message>Request has expired</Message>.*403$" body &&
	wrong=$($PY presign.py "$EP/bkt/other/o.txt" $AK nope 600 0) &&
	curl -s "$wrong" >body && test_grep "<Code>SignatureDoesNotMatch</Code>" body &&
	curl -s --aws-sigv4 aws:amz:eu-west-2:s3 --user "$AK:$SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$EP/bkt?prefix=data%2F&list-type=2" >body &&
	test_grep "<Code>SignatureDoesNotMatch</Code>" body
'

# ---- the Job's side: fetch-job.sh under busybox sh with the host's curl ----
BB=$TRASH/bb BUSYBOX=$(command -v busybox)
mkdir -p "$BB" s3dir
busybox --install -s "$BB"
rm -f "$BB/wget" "$BB/curl"
ln -s "$(command -v curl)" "$BB/curl"
printf %s "$AK" >s3dir/AWS_ACCESS_KEY_ID
printf %s "$SK" >s3dir/AWS_SECRET_ACCESS_KEY
run_job() {
	env -i PATH="$BB" HOME=/tmp EIDF_FETCH_LIST="$EIDF_FETCH_LIST" \
		"$BUSYBOX" sh -c "$(cat "$SCRIPT")" fetch-job --backoff 0 --interval 1 --retries 2 "$@"
}

test_expect_success 'the Job downloads with curl --aws-sigv4: every object, md5 (ETag) and size verified' '
	AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK $FETCH s3://bkt/data/ $S3 --s3-secret keys \
		--pvc data -n ns --dry-run=client -o json >job.yaml &&
	before=$(stats "s[\"_auth\"].get(\"ok\", 0)") &&
	EIDF_FETCH_LIST=$(list_of job.yaml) run_job --dest "$TRASH/pvc/s3" --s3-dir "$TRASH/s3dir" \
		--s3-region eu-west-2 >out 2>&1 &&
	cat out &&
	for f in f1.bin f7.bin multi.bin "sub/a b ü+x.txt"; do cmp "root/bkt/data/$f" "pvc/s3/$f" || return 1; done &&
	test "$(stats "s[\"_auth\"].get(\"ok\", 0)")" = $((before + 9)) &&
	test_grep "f1.bin: complete (1001 bytes, size verified, md5 verified (the ETag))" out &&
	test_grep "multi.bin: complete (300000 bytes, size verified (multipart ETag: no whole-file MD5 to check))" out &&
	test_grep "\"etag\":\"$(md5sum <root/bkt/data/f2.bin | cut -d" " -f1)\"" pvc/s3/.eidf-fetch/f2.bin.json &&
	! grep -r -e "$SK" out pvc/s3/.eidf-fetch &&
	EIDF_FETCH_LIST=$(list_of job.yaml) run_job --dest "$TRASH/pvc/s3" --s3-dir "$TRASH/s3dir" \
		--s3-region eu-west-2 >out2 2>&1 &&
	test "$(grep -c "already complete" out2)" = 9
'

test_expect_success 'the Job: wrong secret is 403 (exit 4); an object replaced since the listing is 412' '
	mkdir -p bad && printf %s "$AK" >bad/AWS_ACCESS_KEY_ID && printf nope >bad/AWS_SECRET_ACCESS_KEY &&
	line=$(list_of job.yaml | grep "/f3.bin") &&
	EIDF_FETCH_LIST="$line" test_expect_code 4 run_job --dest "$TRASH/pvc/bad" --s3-dir "$TRASH/bad" \
		--s3-region eu-west-2 >out 2>&1 &&
	test_grep "HTTP 403 .*check the credentials of the Secret" out &&
	test ! -e pvc/bad/f3.bin &&
	head -c 1003 /dev/urandom >root/bkt/data/f3.bin &&
	EIDF_FETCH_LIST="$line" test_expect_code 4 run_job --dest "$TRASH/pvc/changed" --s3-dir "$TRASH/s3dir" \
		--s3-region eu-west-2 >out 2>&1 &&
	test_grep "HTTP 412 .*the object changed since it was listed" out &&
	test ! -e pvc/changed/f3.bin
'

test_done
