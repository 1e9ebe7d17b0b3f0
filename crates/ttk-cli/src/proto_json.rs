//! JSON to protobuf for `ttk grpc --data`: a message of a type read from a .proto file at run
//! time, from JSON as protobuf's JSON mapping writes it (field names as in the .proto or in
//! lowerCamelCase, 64-bit integers as numbers or strings, enums by name or number, bytes in
//! base64, repeated fields as arrays, maps as objects, one member per oneof; of the well-known
//! types, the wrappers (`Int32Value`: a bare `5`), `Timestamp` (`"2026-12-06T10:00:00.5Z"`) and
//! `Duration` (`"1.5s"`); the others as the objects their .proto declares).

use base64::Engine as _;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value};
use serde_json::Value as Json;

/// `json` (an object) as a message of type `descriptor`.
///
/// # Errors
/// What does not fit, with the path of the field (`player.items[2].id: not a number`); a field
/// the message does not have is an error too, so a misspelt name fails before any load.
pub(crate) fn message(
    descriptor: &MessageDescriptor,
    json: &Json,
) -> Result<DynamicMessage, String> {
    message_at(descriptor, json, descriptor.name())
}

/// [`message`], naming the value `path` in errors.
fn message_at(
    descriptor: &MessageDescriptor,
    json: &Json,
    path: &str,
) -> Result<DynamicMessage, String> {
    if let Some(message) = well_known(descriptor, json, path)? {
        return Ok(message);
    }
    let Json::Object(fields) = json else {
        return Err(format!(
            "{path}: a {} is a JSON object",
            descriptor.full_name()
        ));
    };
    let mut message = DynamicMessage::new(descriptor.clone());
    // Fields given, and the oneofs given a member: each once.
    let mut given: Vec<(u32, String)> = Vec::new();
    let mut oneofs: Vec<(String, String)> = Vec::new();
    for (name, value) in fields {
        let field = descriptor
            .get_field_by_name(name)
            .or_else(|| descriptor.get_field_by_json_name(name))
            .ok_or_else(|| {
                let known: Vec<_> = descriptor.fields().map(|f| f.name().to_owned()).collect();
                format!(
                    "{path}: {} has no field `{name}` (it has: {})",
                    descriptor.full_name(),
                    known.join(", ")
                )
            })?;
        if let Some((_, first)) = given.iter().find(|(number, _)| *number == field.number()) {
            return Err(format!("{path}: `{name}` and `{first}` are the same field"));
        }
        given.push((field.number(), name.clone()));
        if value.is_null() {
            continue;
        }
        if let Some(oneof) = field.containing_oneof() {
            if let Some((_, other)) = oneofs.iter().find(|(o, _)| o == oneof.name()) {
                return Err(format!(
                    "{path}: `{name}` and `{other}` are members of one oneof (`{}`): give one",
                    oneof.name()
                ));
            }
            oneofs.push((oneof.name().to_owned(), name.clone()));
        }
        let path = format!("{path}.{name}");
        let value = field_value(&field, value, &path)?;
        message.set_field(&field, value);
    }
    Ok(message)
}

/// A field's value: a list, a map or one value.
fn field_value(field: &FieldDescriptor, json: &Json, path: &str) -> Result<Value, String> {
    if field.is_map() {
        let Json::Object(entries) = json else {
            return Err(format!("{path}: a map is a JSON object"));
        };
        let Kind::Message(entry) = field.kind() else {
            return Err(format!("{path}: a map without its entry type"));
        };
        let (key_field, value_field) = (entry.map_entry_key_field(), entry.map_entry_value_field());
        let mut map = std::collections::HashMap::new();
        for (key, value) in entries {
            let entry_path = format!("{path}[{key}]");
            let key = map_key(&key_field.kind(), key, &entry_path)?;
            map.insert(key, single(&value_field.kind(), value, &entry_path)?);
        }
        return Ok(Value::Map(map));
    }
    if field.is_list() {
        let Json::Array(items) = json else {
            return Err(format!("{path}: a repeated field is a JSON array"));
        };
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| single(&field.kind(), item, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Value::List);
    }
    single(&field.kind(), json, path)
}

/// One value of type `kind`.
fn single(kind: &Kind, json: &Json, path: &str) -> Result<Value, String> {
    let wrong = |what: &str| format!("{path}: {what}, not {json}");
    Ok(match kind {
        Kind::Double => Value::F64(float(json).ok_or_else(|| wrong("a number"))?),
        Kind::Float => {
            let value = float(json).ok_or_else(|| wrong("a number"))?;
            let narrow = value as f32;
            if narrow.is_infinite() && value.is_finite() {
                return Err(wrong("a number that fits a float"));
            }
            Value::F32(narrow)
        }
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(
            integer(json)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| wrong("a 32-bit integer"))?,
        ),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(
            integer(json)
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| wrong("a 64-bit integer"))?,
        ),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(
            integer(json)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| wrong("an unsigned 32-bit integer"))?,
        ),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(
            integer(json)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| wrong("an unsigned 64-bit integer"))?,
        ),
        Kind::Bool => Value::Bool(json.as_bool().ok_or_else(|| wrong("true or false"))?),
        Kind::String => Value::String(json.as_str().ok_or_else(|| wrong("a string"))?.to_owned()),
        Kind::Bytes => {
            let text = json.as_str().ok_or_else(|| wrong("base64 in a string"))?;
            // Standard or URL-safe, padded or not, as the JSON mapping accepts.
            let config = base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
            let standard = base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, config);
            let url_safe = base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
            let bytes = standard
                .decode(text)
                .or_else(|_| url_safe.decode(text))
                .map_err(|_| wrong("base64 in a string"))?;
            Value::Bytes(bytes.into())
        }
        Kind::Enum(descriptor) => {
            let number = match json {
                Json::String(name) => descriptor
                    .get_value_by_name(name)
                    .map(|value| value.number())
                    .ok_or_else(|| {
                        let names: Vec<_> =
                            descriptor.values().map(|v| v.name().to_owned()).collect();
                        format!(
                            "{path}: {} has no value `{name}` (it has: {})",
                            descriptor.full_name(),
                            names.join(", ")
                        )
                    })?,
                _ => integer(json)
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| wrong("an enum value's name or number"))?,
            };
            Value::EnumNumber(number)
        }
        Kind::Message(descriptor) => Value::Message(message_at(descriptor, json, path)?),
    })
}

/// A map's key, from its JSON object key.
fn map_key(kind: &Kind, key: &str, path: &str) -> Result<MapKey, String> {
    if matches!(kind, Kind::Bool) {
        return match key {
            "true" => Ok(MapKey::Bool(true)),
            "false" => Ok(MapKey::Bool(false)),
            _ => Err(format!("{path}: a bool key is true or false")),
        };
    }
    let text = Json::String(key.to_owned());
    Ok(match single(kind, &text, path)? {
        Value::Bool(_) => MapKey::Bool(key == "true"),
        Value::I32(n) => MapKey::I32(n),
        Value::I64(n) => MapKey::I64(n),
        Value::U32(n) => MapKey::U32(n),
        Value::U64(n) => MapKey::U64(n),
        Value::String(text) => MapKey::String(text),
        _ => return Err(format!("{path}: not a map key type")),
    })
}

/// A JSON number, or a string holding one (as the JSON mapping writes 64-bit integers).
fn integer(json: &Json) -> Option<i128> {
    match json {
        Json::Number(number) => number
            .as_i64()
            .map(i128::from)
            .or_else(|| number.as_u64().map(i128::from))
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i128)
            }),
        Json::String(text) => text.trim().parse().ok().or_else(|| {
            // `"1e3"`: a whole number written as a float.
            let float: f64 = text.trim().parse().ok()?;
            (float.fract() == 0.0 && float.abs() < 1e38).then_some(float as i128)
        }),
        _ => None,
    }
}

/// The wrappers of the well-known types, written as the value they wrap.
const WRAPPERS: [&str; 9] = [
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
];

/// A well-known type written its own way in JSON (a wrapper as its value, a `Timestamp` or a
/// `Duration` as a string); `None` for any other message.
fn well_known(
    descriptor: &MessageDescriptor,
    json: &Json,
    path: &str,
) -> Result<Option<DynamicMessage>, String> {
    let name = descriptor.full_name();
    let field = |field_name: &str| {
        descriptor
            .get_field_by_name(field_name)
            .ok_or_else(|| format!("{path}: {name} without its `{field_name}` field"))
    };
    let mut message = DynamicMessage::new(descriptor.clone());
    if WRAPPERS.contains(&name) && !json.is_object() {
        let value = field("value")?;
        message.set_field(&value, single(&value.kind(), json, path)?);
        return Ok(Some(message));
    }
    let (seconds, nanos) = match (name, json) {
        ("google.protobuf.Timestamp", Json::String(text)) => {
            let at = humantime::parse_rfc3339(text.trim()).map_err(|_| {
                format!(
                    "{path}: a Timestamp is RFC 3339 in UTC, e.g. \"2026-12-06T10:00:00.5Z\", \
                     not {text:?}"
                )
            })?;
            let since = at
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| format!("{path}: a Timestamp before 1970 is not read here"))?;
            (since.as_secs() as i64, since.subsec_nanos() as i32)
        }
        ("google.protobuf.Duration", Json::String(text)) => {
            let seconds: f64 = text
                .trim()
                .strip_suffix('s')
                .and_then(|number| number.parse().ok())
                .filter(|seconds: &f64| seconds.is_finite())
                .ok_or_else(|| {
                    format!("{path}: a Duration is seconds with an s, e.g. \"1.5s\", not {text:?}")
                })?;
            let whole = seconds.trunc();
            (whole as i64, ((seconds - whole) * 1e9).round() as i32)
        }
        _ => return Ok(None),
    };
    message.set_field(&field("seconds")?, Value::I64(seconds));
    message.set_field(&field("nanos")?, Value::I32(nanos));
    Ok(Some(message))
}

/// A JSON number, or a string holding one (`"NaN"`, `"Infinity"` too).
fn float(json: &Json) -> Option<f64> {
    match json {
        Json::Number(number) => number.as_f64(),
        Json::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    /// A pool with a message of every kind.
    fn pool() -> prost_reflect::DescriptorPool {
        let dir = std::env::temp_dir().join(format!("ttk-proto-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("kinds.proto"),
            r#"syntax = "proto3";
            package t;
            import "google/protobuf/timestamp.proto";
            import "google/protobuf/duration.proto";
            import "google/protobuf/wrappers.proto";
            enum Color { RED = 0; GREEN = 1; }
            message Inner { string id = 1; }
            message All {
              double d = 1; int64 big = 2; uint32 small = 3; bool flag = 4; string text = 5;
              bytes raw = 6; Color color = 7; Inner inner = 8; repeated Inner items = 9;
              map<string, int32> scores = 10; sint32 player_id = 11;
              map<bool, string> flags = 12;
              oneof pick { string by_name = 13; int32 by_number = 14; }
              google.protobuf.Timestamp at = 15; google.protobuf.Duration within = 16;
              google.protobuf.Int32Value maybe = 17;
            }"#,
        )
        .unwrap();
        let pool = protox::Compiler::new([&dir])
            .unwrap()
            .open_file("kinds.proto")
            .unwrap()
            .descriptor_pool();
        std::fs::remove_dir_all(&dir).unwrap();
        pool
    }

    #[test]
    fn every_kind_reads_and_encodes() {
        let all = pool().get_message_by_name("t.All").unwrap();
        let json: Json = serde_json::from_str(
            r#"{"d": 1.5, "big": "9007199254740993", "small": 7, "flag": true, "text": "hé",
                "raw": "AQID", "color": "GREEN", "inner": {"id": "x"},
                "items": [{"id": "a"}, {"id": "b"}], "scores": {"bob": 3}, "playerId": -2,
                "flags": {"true": "yes"}, "byName": "x", "at": "2026-12-06T10:00:00.5Z",
                "within": "1.5s", "maybe": 5}"#,
        )
        .unwrap();
        let message = message(&all, &json).unwrap();
        let bytes = message.encode_to_vec();
        let back = DynamicMessage::decode(all.clone(), bytes.as_slice()).unwrap();
        assert_eq!(back, message);
        let field = |name: &str| back.get_field_by_name(name).unwrap().into_owned();
        assert_eq!(field("big"), Value::I64(9_007_199_254_740_993));
        assert_eq!(field("raw"), Value::Bytes(vec![1, 2, 3].into()));
        assert_eq!(field("color"), Value::EnumNumber(1));
        assert_eq!(field("player_id"), Value::I32(-2));
        let Value::List(items) = field("items") else {
            panic!("a list")
        };
        assert_eq!(items.len(), 2);
        let seconds_nanos = |name: &str| {
            let Value::Message(inner) = field(name) else {
                panic!("a message")
            };
            let get = |f: &str| inner.get_field_by_name(f).unwrap().into_owned();
            (get("seconds"), get("nanos"))
        };
        assert_eq!(
            seconds_nanos("at"),
            (Value::I64(1_796_551_200), Value::I32(500_000_000))
        );
        assert_eq!(
            seconds_nanos("within"),
            (Value::I64(1), Value::I32(500_000_000))
        );
        let Value::Message(maybe) = field("maybe") else {
            panic!("a wrapper")
        };
        assert_eq!(
            maybe.get_field_by_name("value").unwrap().into_owned(),
            Value::I32(5)
        );
    }

    #[test]
    fn mistakes_name_their_field() {
        let all = pool().get_message_by_name("t.All").unwrap();
        let error = |text: &str| message(&all, &serde_json::from_str(text).unwrap()).unwrap_err();
        assert!(error(r#"{"nope": 1}"#).contains("has no field `nope`"));
        assert!(error(r#"{"small": -1}"#).contains("All.small: an unsigned 32-bit integer"));
        assert!(error(r#"{"items": [{"id": 5}]}"#).contains("All.items[0].id: a string"));
        assert!(error(r#"{"color": "BLUE"}"#).contains("has no value `BLUE`"));
        assert!(error(r#"[1]"#).contains("a t.All is a JSON object"));
        assert!(error(r#"{"byName": "a", "by_number": 1}"#).contains("one oneof"));
        assert!(error(r#"{"player_id": 1, "playerId": 2}"#).contains("the same field"));
        assert!(error(r#"{"within": "soon"}"#).contains("a Duration is seconds"));
        let unpadded = serde_json::from_str(r#"{"raw": "AQI"}"#).unwrap();
        assert!(message(&all, &unpadded).is_ok(), "unpadded base64 reads");
    }
}
