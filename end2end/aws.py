"""AWS emulator helper for the Playwright suite (end2end/tests/hooks_aws.spec.ts).

Talks boto3 to the emulator named by AWS_ENDPOINT_URL (scripts/test.sh starts ministack and
exports it with the root credentials test/test and AWS_REGION). Every command prints one JSON
document on stdout; any failure prints the error on stderr and exits 1.

    python aws.py queue NAME [--dlq]      create a standard queue (with a dead-letter queue)
    python aws.py topic NAME              create an SNS topic
    python aws.py stream NAME             create a one-shard Kinesis stream, wait until ACTIVE
    python aws.py user ACTION...          an IAM user allowed ACTION... on "*", with an access key
    python aws.py receive URL [--seconds S] [--event-id ID]
                                          receive (and delete) the queue's messages for S seconds,
                                          or until the message of event ID has arrived

The emulator checks the signatures and policies of IAM users, not the secret of its root key,
so a wrong-secret test needs the key of a user made here.
"""

import argparse
import base64
import gzip
import json
import os
import sys
import time
import uuid

import boto3


def client(service: str):
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise SystemExit("AWS_ENDPOINT_URL is not set: start the AWS emulator first")
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def create_queue(name: str, dlq: bool) -> dict:
    sqs = client("sqs")
    out: dict = {}
    attributes = {}
    if dlq:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}
        )
        out["dlq_url"] = dlq_url
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    if dlq and "RedrivePolicy" not in attrs:
        raise SystemExit(f"the emulator did not keep the redrive policy of {url}: {attrs}")
    out.update(url=url, arn=attrs["QueueArn"])
    return out


def create_topic(name: str) -> dict:
    return {"arn": client("sns").create_topic(Name=name)["TopicArn"]}


def create_stream(name: str) -> dict:
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    deadline = time.monotonic() + 30
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return {"arn": summary["StreamARN"], "shards": summary["OpenShardCount"]}
        if time.monotonic() > deadline:
            raise SystemExit(f"the stream {name} is still {summary['StreamStatus']} after 30 s")
        time.sleep(0.2)


def create_user(actions: list) -> dict:
    iam = client("iam")
    name = f"e2e-{uuid.uuid4().hex[:12]}"
    iam.create_user(UserName=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    iam.put_user_policy(UserName=name, PolicyName="e2e", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"name": name, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def decode(body: str):
    """The event of a Hookrelay SQS body: base64 of the JSON, or of its gzip."""
    try:
        raw = base64.b64decode(body, validate=True)
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return json.loads(raw)
    except Exception:  # not a Hookrelay body: reported as null
        return None


def receive(url: str, seconds: float, event_id) -> list:
    sqs = client("sqs")
    messages = []
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        wait = max(0, min(int(remaining), 2))
        out = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
        )
        got = out.get("Messages", [])
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            messages.append(
                {
                    "message_id": m["MessageId"],
                    "body": m["Body"],
                    "event": decode(m["Body"]),
                    "attributes": {
                        k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()
                    },
                }
            )
        found = event_id is not None and any(
            m["attributes"].get("X-Hookrelay-Event-Id") == event_id for m in messages
        )
        if found or (not got and time.monotonic() >= deadline):
            return messages
        if not got and wait == 0:
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("queue")
    p.add_argument("name")
    p.add_argument("--dlq", action="store_true")
    sub.add_parser("topic").add_argument("name")
    sub.add_parser("stream").add_argument("name")
    sub.add_parser("user").add_argument("actions", nargs="+")
    p = sub.add_parser("receive")
    p.add_argument("url")
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--event-id")
    args = parser.parse_args()

    if args.command == "queue":
        out = create_queue(args.name, args.dlq)
    elif args.command == "topic":
        out = create_topic(args.name)
    elif args.command == "stream":
        out = create_stream(args.name)
    elif args.command == "user":
        out = create_user(args.actions)
    else:
        out = receive(args.url, args.seconds, args.event_id)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # one line for the spec's error message
        print(f"aws.py {' '.join(sys.argv[1:])}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
