//! One vacancy's way is one trace: the pipeline as separate `remotehunt` processes (import,
//! classify, fan-out), so trace context can only travel in NATS headers, exporting to an
//! OTLP/HTTP endpoint of the test's own. Every post's events share one trace id from received
//! to delivered, every consumer span's parent is the span named in the header of the event it
//! handled, and every event of the pipeline's streams carries `traceparent`.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use bus::Bus;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use schemas::{Area, Event, MessageKey};
use testkit::FakeTelegram;
use testkit::events::subscriber;

const BIN: &str = env!("CARGO_BIN_EXE_remotehunt");
const DESIGN_TOKEN: &str = "4101:trace-design-secret";
const USER: i64 = 901;

/// A span as the collector received it: hex ids.
#[derive(Debug, Clone)]
struct Span {
    name: String,
    trace_id: String,
    parent_span_id: String,
    consumer: Option<String>,
}

/// An OTLP/HTTP trace collector on a free local port.
async fn collector() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let store = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                let mut spans = store.lock().unwrap();
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            let consumer = span
                                .attributes
                                .iter()
                                .find(|a| a.key == "consumer")
                                .and_then(|a| a.value.as_ref()?.value.as_ref())
                                .and_then(|value| match value {
                                    AnyValue::StringValue(text) => Some(text.clone()),
                                    _ => None,
                                });
                            spans.push(Span {
                                name: span.name,
                                trace_id: hex(&span.trace_id),
                                parent_span_id: hex(&span.parent_span_id),
                                consumer,
                            });
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), spans)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(trace id, span id)` of a W3C `traceparent`.
fn ids(traceparent: &str) -> (String, String) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    (parts[1].to_owned(), parts[2].to_owned())
}

struct Env {
    nats: String,
    database: String,
    telegram: String,
    otlp: String,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("NATS_URL", &self.nats)
            .env("DATABASE_URL", &self.database)
            .env("TELEGRAM_API_URL", &self.telegram)
            .env("CATEGORY_BOT_TOKENS", format!("design={DESIGN_TOKEN}"))
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &self.otlp)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            // The quietest logs: spans must exist whatever the log filter says.
            .env("RUST_LOG", "error")
            .env("LOG_FORMAT", "text")
            .env_remove("OPENAI_API_KEY")
            .stdout(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) {
        let output = self.command(args).stderr(Stdio::piped()).output().unwrap();
        assert!(
            output.status.success(),
            "remotehunt {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().unwrap()
    }
}

/// Stops a service as an operator would (SIGTERM), so it flushes its spans.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "a service stopped badly: {status}");
}

/// Every stored message of a stream: subject, decoded event, its `traceparent`.
async fn stored(bus: &Bus, area: Area) -> Vec<(String, Event, Option<String>)> {
    bus.read_to_end(area.stream(), 1)
        .await
        .unwrap()
        .into_iter()
        .map(|raw| {
            let traceparent = raw.header("traceparent").map(str::to_owned);
            (
                raw.subject.clone(),
                raw.decode().unwrap().envelope.event,
                traceparent,
            )
        })
        .collect()
}

/// The post an event of the pipeline is about.
fn post_of(event: &Event) -> Option<MessageKey> {
    Some(match event {
        Event::MessageReceived(e) => e.key,
        Event::MessageAccepted(e) => e.key,
        Event::MessageClassified(e) => e.key,
        Event::DeliveryPlanned(e) => e.key,
        Event::DeliveryClaimed(e) => e.key,
        Event::VacancyDelivered(e) => e.key,
        _ => return None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_per_post_across_separate_processes() {
    // given our own servers, a subscriber of design with its bot started, and a collector
    let app = testkit::App::start().await;
    let bus = app.bus.clone();
    let fake = FakeTelegram::start().await.unwrap();
    fake.register_bot(DESIGN_TOKEN, "rh_design_bot");
    let (otlp, spans) = collector().await;
    let env = Env {
        nats: app.nats_url.clone(),
        database: app.db.url.clone(),
        telegram: fake.url().to_owned(),
        otlp,
    };
    env.run(&["nats", "apply"]);
    env.run(&["catalog", "apply", "../catalog.toml", "--yes"]);
    app.given(&subscriber(USER, &["design"], 2)).await;
    fake.user_says("rh_design_bot", USER, "/start").unwrap();
    let classify = env.spawn(&["classify", "run"]);
    let fanout = env.spawn(&["fanout", "run", "--max-age-hours", "0"]);

    // when a channel's export is imported by a process of its own
    env.run(&["ingest", "import", "../demo/design-jobs.json"]);

    // then the design vacancies reach the subscriber
    testkit::eventually("a delivered vacancy", async || {
        stored(&bus, Area::Deliveries)
            .await
            .iter()
            .any(|(_, e, _)| matches!(e, Event::VacancyDelivered(_)))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop(classify);
    stop(fanout);
    app.shutdown.cancel();

    // and every event of the pipeline's streams carries traceparent
    let mut events = Vec::new();
    for area in [
        Area::Catalog,
        Area::Messages,
        Area::Screening,
        Area::Classifications,
        Area::Deliveries,
    ] {
        for (subject, event, traceparent) in stored(&bus, area).await {
            assert!(traceparent.is_some(), "{subject} has no traceparent");
            events.push((subject, event, traceparent.unwrap()));
        }
    }
    // and each delivered post's way is one trace: received → accepted → classified → planned →
    // claimed → delivered, a trace of its own per post
    let mut traces: BTreeMap<MessageKey, HashMap<&'static str, HashSet<String>>> = BTreeMap::new();
    for (_, event, traceparent) in &events {
        if let Some(key) = post_of(event) {
            traces
                .entry(key)
                .or_default()
                .entry(event.event_type())
                .or_default()
                .insert(ids(traceparent).0);
        }
    }
    let delivered: Vec<MessageKey> = traces
        .iter()
        .filter(|(_, by_type)| by_type.contains_key("VacancyDelivered"))
        .map(|(key, _)| *key)
        .collect();
    assert!(!delivered.is_empty());
    let mut seen_traces = HashSet::new();
    for key in &delivered {
        let by_type = &traces[key];
        let all: HashSet<&String> = by_type.values().flatten().collect();
        assert_eq!(
            all.len(),
            1,
            "post {key:?} spans several traces: {by_type:?}"
        );
        for step in [
            "MessageReceived",
            "MessageAccepted",
            "MessageClassified",
            "DeliveryPlanned",
            "DeliveryClaimed",
            "VacancyDelivered",
        ] {
            assert!(by_type.contains_key(step), "post {key:?} has no {step}");
        }
        assert!(
            seen_traces.insert(all.into_iter().next().unwrap().clone()),
            "two posts share a trace"
        );
    }

    // and every consumer span of the services hangs under the span its event's header names
    testkit::eventually("the services' spans", async || {
        let spans = spans.lock().unwrap();
        ["classify", "fanout", "send-design"].iter().all(|c| {
            spans
                .iter()
                .any(|s| s.name == "handle" && s.consumer.as_deref() == Some(c))
        })
    })
    .await;
    let producers: HashSet<(String, String)> = events.iter().map(|(_, _, t)| ids(t)).collect();
    let spans = spans.lock().unwrap().clone();
    let handles: Vec<&Span> = spans.iter().filter(|s| s.name == "handle").collect();
    for span in &handles {
        assert!(
            producers.contains(&(span.trace_id.clone(), span.parent_span_id.clone())),
            "{span:?} is not a child of a header's span"
        );
    }
}
