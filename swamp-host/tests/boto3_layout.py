"""An independent S3 client (boto3) on the bucket the guest uses.

    boto3_layout.py check  '<json>'   read back what the guest pushed
    boto3_layout.py write  '<json>'   write the original's v1 layout
    boto3_layout.py list   '<json>'   list the keys starting with "prefix"
    boto3_layout.py put    '<json>'   put raw objects {"objects": {key: hex}}
    boto3_layout.py get    '<json>'   read raw objects {"keys": [key...]}

Keys of `put` and `get` are below "prefix" (as the original's control
records, catalog exports and namespace manifests are: docs/contract.md §5.1).

The JSON names the server and what to expect or write:
{"endpoint", "accessKey", "secretKey", "bucket", "prefix", "namespace"?,
 "files": {"rel": "hex content"}, "noSha256": ["rel"...]}.

`check` prints a JSON summary on success and exits 1 with the reason on the
first violation of the shared layout (docs/contract.md §5.1–§5.5, §7).
"""

import datetime
import hashlib
import json
import re
import sys

import boto3
from botocore.config import Config

INTERNAL_EXACT = {
    ".datastore-index.json",
    ".push-queue.json",
    ".datastore.lock",
    ".datastore-sync-state.json",
}
SUBDIRS = {
    "data", "outputs", "definitions-evaluated", "workflow-runs",
    "workflows-evaluated", "auto-definitions", "audit", "telemetry", "logs",
    "files",
}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def internal(rel):
    base = rel.rsplit("/", 1)[-1]
    return (
        rel in INTERNAL_EXACT
        or rel == "_index" or rel.startswith("_index/")
        or rel == "_control" or rel.startswith("_control/")
        or base == ".lock"
        or base == ".namespace.json"
        or base == "_catalog.db" or base.startswith("_catalog.db-")
    )


def partition(rel):
    """The original's partition function (docs/contract.md §5.5), byte for byte."""
    segs = rel.split("/")
    if len(segs) == 1:
        return "_root" if segs[0] else None
    top = segs[0]
    if top in ("data", "outputs", "definitions-evaluated"):
        if len(segs) < 4:
            return None
        keep = segs[:-3] if len(segs) >= 6 else segs[:-1]
        return "--".join(keep)
    if top == "workflow-runs":
        return None if len(segs) < 3 else "workflow-runs--" + segs[1]
    if top in ("workflows-evaluated", "auto-definitions", "audit", "telemetry", "logs", "files"):
        return top
    return None


def client(spec):
    return boto3.client(
        "s3",
        endpoint_url=spec["endpoint"],
        aws_access_key_id=spec["accessKey"],
        aws_secret_access_key=spec["secretKey"],
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 2},
        ),
    )


def root_of(spec):
    root = spec["prefix"] + "/" if spec.get("prefix") else ""
    if spec.get("namespace"):
        root += spec["namespace"] + "/"
    return root


def get(s3, bucket, key):
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def compact_json(raw, what):
    text = raw.decode("utf-8")
    if "\n" in text or ": " in text or ", " in text:
        fail(f"{what} is not compact JSON: {text[:200]}")
    return json.loads(text)


def check_entry(rel, entry, data, what, sha_optional=False):
    if not isinstance(entry, dict):
        fail(f"{what}: entry {rel} is not an object")
    extra = set(entry) - {"key", "size", "lastModified", "localMtime", "sha256"}
    if extra:
        fail(f"{what}: entry {rel} has fields the original does not know: {sorted(extra)}")
    for field in ("key", "size", "lastModified", "sha256"):
        if field == "sha256" and sha_optional and field not in entry:
            continue
        if field not in entry:
            fail(f"{what}: entry {rel} lacks {field}")
    if entry["key"] != rel:
        fail(f"{what}: entry {rel} has key {entry['key']!r} (must be the bare rel)")
    if data is None:
        fail(f"{what}: entry {rel} has no data object")
    if entry["size"] != len(data):
        fail(f"{what}: entry {rel} says size {entry['size']}, the object has {len(data)} bytes")
    if "sha256" in entry and entry["sha256"] != hashlib.sha256(data).hexdigest():
        fail(f"{what}: entry {rel} sha256 does not match the object")
    for field in ("lastModified", "localMtime"):
        if field in entry and not (isinstance(entry[field], str) and ISO.match(entry[field])):
            fail(f"{what}: entry {rel} {field} {entry[field]!r} is not ISO-8601")


def check(spec):
    s3 = client(spec)
    bucket = spec["bucket"]
    root = root_of(spec)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
        keys += [o["Key"] for o in page.get("Contents", [])]
    rels = [k[len(root):] for k in keys]
    # Data keys: not internal, and in a datastore subdir (or at the top),
    # so another namespace's directory under a solo root is not counted.
    data_rels = sorted(
        r for r in rels
        if not internal(r) and ("/" not in r or r.split("/", 1)[0] in SUBDIRS)
    )
    meta_raw = get(s3, bucket, root + "_index/_meta.json")
    meta = compact_json(meta_raw, "_index/_meta.json") if meta_raw is not None else None
    layout = "monolith"
    if meta is not None and meta.get("version") == 2:
        layout = "sharded"
        parts = meta.get("partitions")
        if parts != sorted(parts) or not isinstance(meta.get("commitSeq"), int):
            fail(f"meta v2 malformed: {meta}")
        entries = {}
        for pk in parts:
            raw = get(s3, bucket, root + f"_index/{pk}.json")
            if raw is None:
                fail(f"meta lists shard {pk} but _index/{pk}.json is missing")
            shard = compact_json(raw, f"_index/{pk}.json")
            if shard.get("version") != 1 or not isinstance(shard.get("entries"), dict):
                fail(f"shard {pk} malformed: {shard}")
            for rel, e in shard["entries"].items():
                if partition(rel) != pk:
                    fail(f"{rel} is in shard {pk}, the partition function says {partition(rel)}")
                entries[rel] = e
    else:
        raw = get(s3, bucket, root + ".datastore-index.json")
        if raw is None:
            fail(f"no index at {root}.datastore-index.json (and no v2 meta); keys: {keys}")
        index = compact_json(raw, ".datastore-index.json")
        if sorted(index) != ["entries", "lastPulled", "version"]:
            fail(f"monolith has fields {sorted(index)}, expected entries, lastPulled, version")
        if index["version"] != 1 or not ISO.match(index["lastPulled"]):
            fail(f"monolith version/lastPulled malformed: {index['version']} {index['lastPulled']}")
        entries = index["entries"]
        if meta is not None:
            # Dual-write era: the monolith is authoritative; shards are a
            # best-effort mirror of the partitions a push touched (the
            # original writes only the dirty ones, and migration rebuilds
            # them all from the monolith). Those present must agree.
            layout = "monolith+meta-v1"
            if meta.get("version") != 1 or not isinstance(meta.get("partitions"), list):
                fail(f"meta malformed: {meta}")
            for pk in meta["partitions"]:
                raw = get(s3, bucket, root + f"_index/{pk}.json")
                if raw is None:
                    continue
                shard = compact_json(raw, f"_index/{pk}.json")
                for rel, e in shard.get("entries", {}).items():
                    if partition(rel) != pk:
                        fail(f"{rel} is in shard {pk}, the partition function says {partition(rel)}")
                    if entries.get(rel) != e:
                        fail(f"shard {pk} has {rel} as {e}, the monolith as {entries.get(rel)}")
    data = {r: get(s3, bucket, root + r) for r in data_rels}
    for rel, e in entries.items():
        if internal(rel):
            fail(f"the index lists the internal file {rel}")
        check_entry(rel, e, data.get(rel), layout, rel in spec.get("noSha256", []))
    if sorted(entries) != data_rels:
        fail(f"index lists {sorted(entries)} but the bucket holds {data_rels}")
    for rel, hexdata in spec.get("files", {}).items():
        if data.get(rel) != bytes.fromhex(hexdata):
            fail(f"{root}{rel} does not hold what was pushed")
    print(json.dumps({"layout": layout, "entries": sorted(entries), "keys": keys}))


def list_keys(spec):
    """Every key starting with the raw prefix (no "/" added)."""
    s3 = client(spec)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=spec["bucket"], Prefix=spec.get("prefix") or ""):
        keys += [o["Key"] for o in page.get("Contents", [])]
    print(json.dumps({"keys": keys}))


def write(spec):
    """What the original writes: data objects, then the compact monolith."""
    s3 = client(spec)
    root = root_of(spec)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    entries = {}
    for rel, hexdata in spec["files"].items():
        body = bytes.fromhex(hexdata)
        s3.put_object(Bucket=spec["bucket"], Key=root + rel, Body=body)
        entry = {"key": rel, "size": len(body), "lastModified": now, "localMtime": now}
        if rel not in spec.get("noSha256", []):
            entry["sha256"] = hashlib.sha256(body).hexdigest()
        entries[rel] = entry
    def put_json(key, doc):
        s3.put_object(
            Bucket=spec["bucket"],
            Key=root + key,
            Body=json.dumps(doc, separators=(",", ":")).encode(),
            ContentType="application/json",
        )

    if spec.get("layout") == "sharded":
        # Shard-first (v2): shards and a v2 meta are authoritative; the
        # monolith is left stale (it lists only the first entry), as the
        # original's migration leaves it.
        shards = {}
        for rel, entry in entries.items():
            shards.setdefault(partition(rel), {})[rel] = entry
        for pk, shard_entries in shards.items():
            put_json("_index/" + pk + ".json", {"version": 1, "entries": shard_entries})
        put_json("_index/_meta.json", {"version": 2, "partitions": sorted(shards), "commitSeq": 7})
        first = sorted(entries)[0]
        put_json(".datastore-index.json", {"version": 1, "lastPulled": now, "entries": {first: entries[first]}})
    else:
        put_json(".datastore-index.json", {"version": 1, "lastPulled": now, "entries": entries})
    print(json.dumps({"written": sorted(entries)}))


def put_raw(spec):
    s3 = client(spec)
    root = spec["prefix"] + "/" if spec.get("prefix") else ""
    for key, hexdata in spec["objects"].items():
        s3.put_object(Bucket=spec["bucket"], Key=root + key, Body=bytes.fromhex(hexdata))
    print(json.dumps({"put": sorted(spec["objects"])}))


def get_raw(spec):
    s3 = client(spec)
    root = spec["prefix"] + "/" if spec.get("prefix") else ""
    out = {}
    for key in spec["keys"]:
        body = get(s3, spec["bucket"], root + key)
        out[key] = None if body is None else body.hex()
    print(json.dumps({"objects": out}))


if __name__ == "__main__":
    commands = {"check": check, "write": write, "list": list_keys, "put": put_raw, "get": get_raw}
    commands[sys.argv[1]](json.loads(sys.argv[2]))
