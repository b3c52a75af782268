//! `GET /openapi.json`: an OpenAPI 3.1 document of every API route, with the SDKs' security
//! schemes, that agrees with what the handlers answer.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{ApiClient, TestApp};

/// Every route of the REST API (`api::router`), as method and path.
const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/app"),
    ("patch", "/app"),
    ("get", "/hook/events"),
    ("post", "/check_sqs"),
    ("post", "/check_sns"),
    ("post", "/check_kinesis"),
    ("post", "/check_webhook"),
    ("post", "/events"),
    ("get", "/deliveries"),
    ("post", "/deliveries/redeliver"),
    ("get", "/openapi.json"),
    // the chat source
    ("post", "/users"),
    ("patch", "/users"),
    ("post", "/channels/{type}/query"),
    ("post", "/channels/{type}/{id}/query"),
    ("post", "/channels/{type}/{id}"),
    ("patch", "/channels/{type}/{id}"),
    ("delete", "/channels/{type}/{id}"),
    ("post", "/channels/{type}/{id}/message"),
    ("post", "/messages/{id}"),
    ("put", "/messages/{id}"),
    ("delete", "/messages/{id}"),
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let res = reqwest::get(app.url("/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    res.json().await.unwrap()
}

/// The property names of a component schema, and its required ones.
fn properties(doc: &Value, schema: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let s = &doc["components"]["schemas"][schema];
    let props = s["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {schema} has no properties: {s}"))
        .keys()
        .cloned()
        .collect();
    let required = s["required"]
        .as_array()
        .map(|r| r.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (props, required)
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn documents_every_route_with_the_sdk_security_schemes() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(*method).is_some() {
                documented.insert((method.to_string(), path.clone()));
            }
        }
    }
    let routes: BTreeSet<(String, String)> = API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routes, "documented operations != API routes");

    // every route is served, and no other method on its path
    let http = reqwest::Client::new();
    let paths: BTreeSet<&str> = API_ROUTES.iter().map(|(_, p)| *p).collect();
    for path in paths {
        for method in METHODS {
            let status = http
                .request(method.to_uppercase().parse().unwrap(), app.url(path))
                .send()
                .await
                .unwrap()
                .status();
            // `GET /users` is the dashboard's users page, not an API operation
            if *method == "get" && path == "/users" {
                continue;
            }
            let served = routes.contains(&(method.to_string(), path.to_string()));
            if served {
                assert!(status != 404 && status != 405, "{method} {path}: {status}");
            } else {
                assert_eq!(status, 405, "{method} {path} is served but not documented");
            }
        }
    }

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["api_key"],
        json!({"type": "apiKey", "in": "query", "name": "api_key", "description": schemes["api_key"]["description"]})
    );
    assert_eq!(schemes["jwt"]["type"], "apiKey");
    assert_eq!(schemes["jwt"]["in"], "header");
    assert_eq!(schemes["jwt"]["name"], "Authorization");
    assert_eq!(schemes["stream_auth_type"]["type"], "apiKey");
    assert_eq!(schemes["stream_auth_type"]["in"], "header");
    assert_eq!(schemes["stream_auth_type"]["name"], "stream-auth-type");
    // all three together, on every operation but the document itself
    assert_eq!(
        doc["security"],
        json!([{"api_key": [], "jwt": [], "stream_auth_type": []}])
    );
    assert_eq!(
        doc["paths"]["/openapi.json"]["get"]["security"],
        json!([{}])
    );

    // every authenticated operation documents its errors with Stream's error JSON
    for (method, path) in API_ROUTES.iter().filter(|(_, p)| *p != "/openapi.json") {
        let responses = &doc["paths"][path][method]["responses"];
        for status in ["401", "429", "500", "503"] {
            assert_eq!(
                responses[status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/APIError",
                "{method} {path} {status}"
            );
        }
        assert!(
            responses["429"]["headers"]["Retry-After"].is_object(),
            "{method} {path}"
        );
        // Stream answers 201 to creating and to updating calls (PUT /messages/{id} too)
        let success = if matches!(*method, "post" | "put") {
            "201"
        } else {
            "200"
        };
        assert!(responses[success].is_object(), "{method} {path} {success}");
        if *method != "get" || *path == "/deliveries" {
            assert!(responses["400"].is_object(), "{method} {path} 400");
        }
    }
}

#[tokio::test]
async fn the_documented_schemas_are_the_ones_the_handlers_answer_with() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let client = ApiClient::new(&app, "openapi").await;

    // GET /app: exactly the documented fields, all of them required
    let (status, body) = client.call(Method::GET, "/app", None).await;
    assert_eq!(status, 200);
    let (props, required) = properties(&doc, "AppSettings");
    assert_eq!(keys(&body["app"]), props);
    assert_eq!(required, props);
    assert_eq!(keys(&body), properties(&doc, "AppResponse").0);

    // an error: Stream's error JSON, every required field present, nothing undocumented
    let res = reqwest::get(app.url("/app?api_key=nope")).await.unwrap();
    assert_eq!(res.status(), 401);
    let error: Value = res.json().await.unwrap();
    let (props, required) = properties(&doc, "APIError");
    assert!(required.is_subset(&keys(&error)), "{error}");
    assert!(keys(&error).is_subset(&props), "{error}");

    let (status, error) = client
        .call(Method::PATCH, "/app", Some(json!({"webhook_url": 3})))
        .await;
    assert_eq!(status, 400);
    assert!(keys(&error).contains("exception_fields"));
    assert!(keys(&error).is_subset(&props), "{error}");

    // a hook (to a closed local port), an event for it, its delivery: the documented shapes
    let (status, body) = client
        .patch_app(json!({"event_hooks": [
            {"hook_type": "webhook", "webhook_url": "http://127.0.0.1:9/hook"}
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), properties(&doc, "DurationResponse").0);
    let hook = &client.get_app().await["event_hooks"][0];
    assert!(
        keys(hook).is_subset(&properties(&doc, "EventHook").0),
        "{hook}"
    );
    let (status, body) = client
        .call(
            Method::POST,
            "/events",
            Some(json!({"type": "message.new", "id": "e-1"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(keys(&body), properties(&doc, "EventsResponse").0);
    assert_eq!(
        keys(&body["events"][0]),
        properties(&doc, "AcceptedEvent").0
    );

    assert_eq!(body["events"][0]["deliveries"], 1, "{body}");
    let (status, body) = client.call(Method::GET, "/deliveries", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), properties(&doc, "DeliveriesResponse").0);
    let (props, required) = properties(&doc, "Delivery");
    assert_eq!(keys(&body["deliveries"][0]), props, "{body}");
    assert_eq!(required, props, "every field of a delivery is always there");

    let (status, body) = client
        .call(Method::POST, "/check_kinesis", Some(json!({})))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "error");
    assert!(keys(&body).is_subset(&properties(&doc, "CheckResult").0));
}
