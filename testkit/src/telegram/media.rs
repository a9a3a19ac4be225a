//! Photos in the fake Bot API: `sendPhoto` with an upload (teloxide sends it as a multipart
//! form, see `multipart`), a `file_id` the bot got for an earlier photo, or a URL (taken on
//! trust, not downloaded). Checked as Telegram checks them — a PNG or JPEG, sides of at most
//! 10000 together and a ratio of at most 20, a caption of at most 1024 characters after entity
//! parsing — sent under the same rules as `sendMessage`, and answered with the `photo` sizes
//! Telegram makes: a 90-pixel thumbnail and the photo itself.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

use super::api::ApiError;
use super::send::{self, Content};
use super::state::{Bot, World};

const MAX_CAPTION: usize = 1024;
/// The longest side of the thumbnail Telegram makes of every photo.
const THUMBNAIL_SIDE: u32 = 90;
/// What the fake says of a photo sent by URL, which it does not download.
const URL_PHOTO_SIZE: (u32, u32) = (1280, 720);
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_START: &[u8] = &[0xFF, 0xD8, 0xFF];

pub fn send_photo(
    world: &mut World,
    token: &str,
    params: &Value,
    files: &HashMap<String, Vec<u8>>,
) -> Result<Value, ApiError> {
    let caption = params["caption"].as_str().unwrap_or_default().to_owned();
    let parse_mode = params["parse_mode"].as_str().map(str::to_owned);
    let plain = send::parsed_text(&caption, parse_mode.as_deref())?;
    if plain.encode_utf16().count() > MAX_CAPTION {
        return Err(ApiError::bad_request("message caption is too long"));
    }
    let reply_markup = send::reply_markup(params)?;
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let photo = photo_bytes(bot, &params["photo"], files)?;
    let destination = send::admit_send(world, token, params)?;
    let content = Content {
        text: caption,
        parse_mode,
        reply_markup,
        photo: Some(photo),
        silent: send::silent(params),
        no_preview: false,
    };
    send::deliver(world, token, destination, content)
}

/// The photo a request names: `attach://<part>` or a file part named `photo` (an upload), a
/// `file_id` of a photo the bot sent before, or an http(s) URL (no bytes: not downloaded).
fn photo_bytes(
    bot: &Bot,
    photo: &Value,
    files: &HashMap<String, Vec<u8>>,
) -> Result<Vec<u8>, ApiError> {
    let upload = match photo.as_str() {
        Some(reference) => match reference.strip_prefix("attach://") {
            Some(part) => files.get(part),
            None if reference.starts_with("http://") || reference.starts_with("https://") => {
                return Ok(Vec::new());
            }
            None if reference.is_empty() => None,
            None => {
                return known_photo(bot, reference).ok_or_else(|| {
                    ApiError::bad_request("wrong file identifier/HTTP URL specified")
                });
            }
        },
        None => files.get("photo"),
    };
    let bytes = upload.ok_or_else(|| ApiError::bad_request("there is no photo in the request"))?;
    check_upload(bytes)?;
    Ok(bytes.clone())
}

fn known_photo(bot: &Bot, file_id: &str) -> Option<Vec<u8>> {
    bot.sent
        .iter()
        .filter_map(|m| m.photo.as_ref())
        .find(|bytes| sizes(bytes).iter().any(|size| size.file_id == file_id))
        .cloned()
}

fn check_upload(bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("file must be non-empty"));
    }
    let (width, height) = dimensions(bytes)
        .filter(|(width, height)| *width > 0 && *height > 0)
        .ok_or_else(|| ApiError::bad_request("IMAGE_PROCESS_FAILED"))?;
    let (width, height) = (u64::from(width), u64::from(height));
    if width + height > 10_000 || width.max(height) > 20 * width.min(height) {
        return Err(ApiError::bad_request("PHOTO_INVALID_DIMENSIONS"));
    }
    Ok(())
}

/// Width and height of a PNG or a JPEG; `None` for anything else.
fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.starts_with(PNG_SIGNATURE) {
        // The first chunk is IHDR: its length, its type, then the width and the height.
        let header = bytes.get(12..24)?;
        if header.get(..4)? != b"IHDR" {
            return None;
        }
        let number = |at: usize| Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?));
        return Some((number(4)?, number(8)?));
    }
    if bytes.starts_with(JPEG_START) {
        return jpeg_dimensions(bytes);
    }
    None
}

/// The size in a JPEG's frame header (SOF0–SOF15 but DHT, JPG and DAC, which share the range).
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let number = |at: usize| {
        Some(u32::from(u16::from_be_bytes([
            *bytes.get(at)?,
            *bytes.get(at + 1)?,
        ])))
    };
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        match marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Markers without a segment.
            0x01 | 0xD0..=0xD8 => at += 2,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                // Length, precision, then the height and the width.
                return Some((number(at + 7)?, number(at + 5)?));
            }
            // The image data starts before any frame header: not a JPEG Telegram can read.
            0xDA => return None,
            _ => at += 2 + number(at + 2)? as usize,
        }
    }
    None
}

struct PhotoSize {
    file_id: String,
    file_unique_id: String,
    width: u32,
    height: u32,
    file_size: usize,
}

/// The sizes Telegram answers for a photo: a thumbnail when the photo is larger, then the
/// photo. Their ids come from the bytes, so the same photo gets the same ids, as on Telegram.
fn sizes(bytes: &[u8]) -> Vec<PhotoSize> {
    let (width, height) = dimensions(bytes).unwrap_or(URL_PHOTO_SIZE);
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    let digest = hasher.finish();
    let size = |tag: char, width: u32, height: u32, file_size: usize| PhotoSize {
        file_id: format!("AgACAgIAAxkBAAI{digest:016x}{tag}"),
        file_unique_id: format!("AQAD{digest:016x}{tag}"),
        width,
        height,
        file_size,
    };
    let mut sizes = Vec::new();
    let longest = width.max(height);
    if longest > THUMBNAIL_SIDE {
        let scale = f64::from(THUMBNAIL_SIDE) / f64::from(longest);
        let side = |pixels: u32| ((f64::from(pixels) * scale).round() as u32).max(1);
        let file_size = ((bytes.len() as f64 * scale * scale) as usize).max(1);
        sizes.push(size('s', side(width), side(height), file_size));
    }
    sizes.push(size('y', width, height, bytes.len()));
    sizes
}

/// A message's `photo`: its `PhotoSize`s, smallest first.
pub fn photo_json(bytes: &[u8]) -> Value {
    let sizes: Vec<Value> = sizes(bytes)
        .into_iter()
        .map(|size| {
            json!({"file_id": size.file_id, "file_unique_id": size.file_unique_id,
                   "width": size.width, "height": size.height, "file_size": size.file_size})
        })
        .collect();
    Value::Array(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = PNG_SIGNATURE.to_vec();
        bytes.extend_from_slice(b"\0\0\0\rIHDR");
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(b"\x08\x06\0\0\0");
        bytes
    }

    #[test]
    fn only_pngs_and_jpegs_of_sane_dimensions() {
        assert_eq!(dimensions(&png(640, 480)), Some((640, 480)));
        // SOI, an APP0 segment of 16 bytes, then SOF0: length 17, precision 8, 300 high, 400 wide.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        jpeg.extend_from_slice(&[0; 14]);
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0x2C, 0x01, 0x90]);
        assert_eq!(dimensions(&jpeg), Some((400, 300)));
        assert!(check_upload(&jpeg).is_ok());

        fn refused(bytes: &[u8]) -> String {
            check_upload(bytes).unwrap_err().description().to_owned()
        }
        assert_eq!(refused(b"GIF89a..."), "Bad Request: IMAGE_PROCESS_FAILED");
        assert_eq!(refused(b""), "Bad Request: file must be non-empty");
        assert_eq!(
            refused(&png(4000, 100)),
            "Bad Request: PHOTO_INVALID_DIMENSIONS"
        );
        assert_eq!(
            refused(&png(6000, 5000)),
            "Bad Request: PHOTO_INVALID_DIMENSIONS"
        );
    }

    #[test]
    fn a_thumbnail_and_the_photo_with_stable_ids() {
        let photo = photo_json(&png(900, 300));
        assert_eq!(photo[0]["width"], 90);
        assert_eq!(photo[0]["height"], 30);
        assert_eq!(photo[1]["width"], 900);
        assert_eq!(photo, photo_json(&png(900, 300)));
        assert_ne!(
            photo[1]["file_id"],
            photo_json(&png(901, 300))[1]["file_id"]
        );
        assert_eq!(photo_json(&png(60, 60)).as_array().map(Vec::len), Some(1));
    }
}
