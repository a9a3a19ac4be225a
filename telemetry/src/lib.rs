//! One place that sets up logs and traces for every service, and carries W3C trace context across
//! NATS so a vacancy's path from ingest to delivery is one trace.
//!
//! Spans always get OpenTelemetry ids (so `traceparent` propagates even with no collector); they
//! are exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Flushes exported spans when dropped at the end of `main`.
pub struct Guard {
    provider: SdkTracerProvider,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// How log lines are written: JSON for machines (the default), text for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    /// `LOG_FORMAT=text` picks text; anything else JSON.
    pub fn from_env() -> Self {
        match std::env::var("LOG_FORMAT").as_deref() {
            Ok("text") | Ok("pretty") => LogFormat::Text,
            _ => LogFormat::Json,
        }
    }
}

/// Installs the global subscriber: logs on stderr filtered by `RUST_LOG` (default `info` for
/// JSON, `warn` for text), and the OpenTelemetry layer with a filter of its own. Call once, at
/// start-up.
///
/// The two filters are separate on purpose: a span that the log filter hides must still exist
/// for the trace, or `current_traceparent()` finds nothing and the next event goes out without
/// `traceparent` (a terminal's `warn` used to switch every trace off).
pub fn init(service: &'static str, format: LogFormat) -> anyhow::Result<Guard> {
    let provider = tracer_provider(service)?;
    let tracer = provider.tracer(service);
    // A person at a terminal wants warnings; a service's log collector wants the story.
    let default = match format {
        LogFormat::Json => "info",
        LogFormat::Text => "warn",
    };
    let logs = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(TRACE_LEVEL);
    let registry = tracing_subscriber::registry().with(otel);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(std::io::stderr)
                    .with_filter(logs),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(logs),
            )
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("installing the tracing subscriber: {e}"))?;
    Ok(Guard { provider })
}

/// The spans that make up traces: every handler, publish and reader span is at `info`.
const TRACE_LEVEL: LevelFilter = LevelFilter::INFO;

fn tracer_provider(service: &'static str) -> anyhow::Result<SdkTracerProvider> {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(format!("remotehunt-{service}"))
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        // The exporter reads the endpoint and headers from the standard OTEL_* variables.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| anyhow::anyhow!("building the OTLP exporter: {e}"))?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

/// The `traceparent` of the current span, to put in an outgoing message's headers.
pub fn current_traceparent() -> Option<String> {
    traceparent(&tracing::Span::current())
}

/// The `traceparent` of `span`, `None` when it has no trace context (no subscriber installed).
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the producer's span named by an incoming `traceparent`.
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The trace id of `span`, hex, when it has one (for tests and log correlation).
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}
