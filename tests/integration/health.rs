use crate::support::TestApp;

#[tokio::test]
async fn healthz_answers_while_readyz_follows_the_database() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let res = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    app.db.close().await;
    let res = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the process is still up");
    let res = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.text().await.unwrap(), "database unavailable");
}
