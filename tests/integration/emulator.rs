//! The test harness's AWS emulator: the official SDK reaches it through AWS_ENDPOINT_URL, and it
//! checks credentials, so later tests can rely on it to tell good credentials from bad ones.

use aws_sdk_sqs::config::{Credentials, Region};
use aws_sdk_sqs::error::ProvideErrorMetadata;

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the tests through scripts/test.sh, which starts the AWS emulator")
}

async fn sqs(key: &str, secret: &str) -> aws_sdk_sqs::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&conf)
}

#[tokio::test]
async fn the_sdk_sends_and_receives_through_the_emulator() {
    let client = sqs("test", "test").await;
    let name = format!("harness-{}", std::process::id());
    let url = client
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap();
    client
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .send()
        .await
        .unwrap();
    let got = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let bodies: Vec<_> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["hello"]);
    client.delete_queue().queue_url(&url).send().await.unwrap();
}

/// Ministack checks credentials: an unknown access key is refused with the code AWS uses.
/// (It does not check the secret of its root key `test`; tests about wrong secrets and missing
/// permissions create IAM users, whose signatures and policies it does check.)
#[tokio::test]
async fn the_emulator_rejects_an_unknown_access_key_with_a_code_the_sdk_reads() {
    let client = sqs("AKIAUNKNOWNKEY000000", "whatever").await;
    let err = client
        .list_queues()
        .send()
        .await
        .expect_err("an unknown key must be refused");
    assert_eq!(err.code(), Some("InvalidClientTokenId"), "{err:?}");
}
