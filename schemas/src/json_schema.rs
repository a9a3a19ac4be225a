//! JSON Schemas (draft 2020-12) of every event as it travels: the envelope with `type` and
//! `version` fixed and `data` of that event's shape. They are committed in `schemas/json/` for
//! analysts and other languages; a test fails when they go stale.

use serde_json::{Map, Value, json};

use crate::events::data_schemas;
use crate::{Aggregate, Event};

pub struct EventSchema {
    pub event_type: &'static str,
    pub version: u32,
    pub schema: Value,
}

impl EventSchema {
    /// `<Type>.v<version>.schema.json`
    pub fn file_name(&self) -> String {
        format!("{}.v{}.schema.json", self.event_type, self.version)
    }

    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.schema).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// One schema per event type, in registry order.
pub fn event_schemas() -> Vec<EventSchema> {
    data_schemas()
        .into_iter()
        .map(|(event_type, version, data)| EventSchema {
            event_type,
            version,
            schema: envelope_schema(event_type, version, data.to_value()),
        })
        .collect()
}

fn envelope_schema(event_type: &str, version: u32, data: Value) -> Value {
    let mut defs = Map::new();
    let data = hoist_defs(data, &mut defs);
    let aggregate = hoist_defs(schemars::schema_for!(Aggregate).to_value(), &mut defs);
    let area = Event::TYPES
        .iter()
        .find(|(t, ..)| *t == event_type)
        .map(|(_, _, area, name)| format!("rh.{}.{}.", area.as_str(), name))
        .unwrap_or_default();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("{event_type} v{version}"),
        "description": format!("Envelope of a {event_type} event, published on subjects `{area}<aggregate id tokens>` (each `:`-separated part of the aggregate id is a token)."),
        "type": "object",
        "required": ["id", "type", "version", "occurred_at", "aggregate", "data"],
        "properties": {
            "id": { "type": "string", "minLength": 1, "description": "Event id, also the Nats-Msg-Id of events that are not once-per-subject." },
            "type": { "const": event_type },
            "version": { "const": version },
            "occurred_at": { "type": "string", "format": "date-time" },
            "aggregate": aggregate,
            "correlation_id": { "type": ["string", "null"] },
            "causation_id": { "type": ["string", "null"] },
            "data": data,
        },
        "$defs": Value::Object(defs),
    })
}

/// Moves a generated schema's `$defs` into the shared root ones; `#/$defs/…` references keep
/// resolving because they are resolved against the document root.
fn hoist_defs(mut schema: Value, defs: &mut Map<String, Value>) -> Value {
    if let Value::Object(object) = &mut schema {
        object.remove("$schema");
        if let Some(Value::Object(inner)) = object.remove("$defs") {
            defs.extend(inner);
        }
    }
    schema
}
