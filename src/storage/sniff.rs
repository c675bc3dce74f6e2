//! The real type of an uploaded file, from its first bytes (magic numbers), checked
//! against its extension and the allowed list (FEATURES §10, `AUTHORIZED_CONTENT_TYPES`).

/// How many first bytes [`sniff`] needs.
pub const SNIFF_LEN: usize = 512;

pub const REFUSED_TYPE: &str = "Ce type de fichier n’est pas accepté.";

/// Families recognized by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Magic {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Tiff,
    Bmp,
    Webp,
    Wav,
    /// Zip container: zip, Office Open XML, OpenDocument, iWork.
    Zip,
    SevenZip,
    Rar,
    Gzip,
    /// OLE2 compound file: legacy Office documents, Outlook messages.
    Ole,
    Rtf,
    /// ISO base media (`ftyp`): mp4, mov, m4a, 3gp.
    Ftyp,
    Mp3,
    /// No binary signature, no NUL byte: plain text, CSV, JSON, XML…
    Text,
}

/// Allowed extensions: the content type served and the family the bytes must match.
const ALLOWED: &[(&str, &str, Magic)] = &[
    ("pdf", "application/pdf", Magic::Pdf),
    ("png", "image/png", Magic::Png),
    ("jpg", "image/jpeg", Magic::Jpeg),
    ("jpeg", "image/jpeg", Magic::Jpeg),
    ("gif", "image/gif", Magic::Gif),
    ("tif", "image/tiff", Magic::Tiff),
    ("tiff", "image/tiff", Magic::Tiff),
    ("bmp", "image/bmp", Magic::Bmp),
    ("webp", "image/webp", Magic::Webp),
    ("wav", "audio/x-wav", Magic::Wav),
    ("zip", "application/zip", Magic::Zip),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Magic::Zip,
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Magic::Zip,
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Magic::Zip,
    ),
    ("odt", "application/vnd.oasis.opendocument.text", Magic::Zip),
    (
        "ods",
        "application/vnd.oasis.opendocument.spreadsheet",
        Magic::Zip,
    ),
    (
        "odp",
        "application/vnd.oasis.opendocument.presentation",
        Magic::Zip,
    ),
    ("pages", "application/vnd.apple.pages", Magic::Zip),
    ("numbers", "application/vnd.apple.numbers", Magic::Zip),
    ("key", "application/vnd.apple.keynote", Magic::Zip),
    ("7z", "application/x-7z-compressed", Magic::SevenZip),
    ("rar", "application/vnd.rar", Magic::Rar),
    ("gz", "application/gzip", Magic::Gzip),
    ("doc", "application/msword", Magic::Ole),
    ("xls", "application/vnd.ms-excel", Magic::Ole),
    ("ppt", "application/vnd.ms-powerpoint", Magic::Ole),
    ("msg", "application/vnd.ms-outlook", Magic::Ole),
    ("rtf", "application/rtf", Magic::Rtf),
    ("mp4", "video/mp4", Magic::Ftyp),
    ("mov", "video/quicktime", Magic::Ftyp),
    ("m4a", "audio/mp4", Magic::Ftyp),
    ("3gp", "video/3gpp", Magic::Ftyp),
    ("mp3", "audio/mpeg", Magic::Mp3),
    ("txt", "text/plain", Magic::Text),
    ("csv", "text/csv", Magic::Text),
    ("json", "application/json", Magic::Text),
    ("xml", "application/xml", Magic::Text),
    ("kml", "application/vnd.google-earth.kml+xml", Magic::Text),
    ("gpx", "application/gpx+xml", Magic::Text),
    ("eml", "message/rfc822", Magic::Text),
];

/// Executables are refused whatever their name.
fn is_executable(head: &[u8]) -> bool {
    const SIGNATURES: &[&[u8]] = &[
        b"\x7fELF",
        b"MZ",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"#!",
        b"\0asm",
    ];
    SIGNATURES.iter().any(|s| head.starts_with(s))
}

fn magic(head: &[u8]) -> Option<Magic> {
    let starts = |s: &[u8]| head.starts_with(s);
    let riff = |kind: &[u8]| head.len() >= 12 && starts(b"RIFF") && &head[8..12] == kind;
    Some(if starts(b"%PDF-") {
        Magic::Pdf
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Magic::Png
    } else if starts(b"\xff\xd8\xff") {
        Magic::Jpeg
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Magic::Gif
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Magic::Tiff
    } else if starts(b"BM") && head.len() >= 14 {
        Magic::Bmp
    } else if riff(b"WEBP") {
        Magic::Webp
    } else if riff(b"WAVE") {
        Magic::Wav
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Magic::Zip
    } else if starts(b"7z\xbc\xaf\x27\x1c") {
        Magic::SevenZip
    } else if starts(b"Rar!\x1a\x07") {
        Magic::Rar
    } else if starts(b"\x1f\x8b") {
        Magic::Gzip
    } else if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        Magic::Ole
    } else if starts(b"{\\rtf") {
        Magic::Rtf
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        Magic::Ftyp
    } else if starts(b"ID3") || starts(b"\xff\xfb") || starts(b"\xff\xf3") || starts(b"\xff\xf2") {
        Magic::Mp3
    } else if !head.is_empty() && !head.contains(&0) {
        Magic::Text
    } else {
        return None;
    })
}

/// The extension of a file name, lowercased.
fn extension(filename: &str) -> Option<String> {
    let (stem, ext) = filename.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// The content type to record for a file named `filename` whose first bytes are `head`
/// (at most [`SNIFF_LEN`]), or the French refusal.
pub fn sniff(filename: &str, head: &[u8]) -> Result<&'static str, &'static str> {
    if is_executable(head) {
        return Err(REFUSED_TYPE);
    }
    let ext = extension(filename).ok_or(REFUSED_TYPE)?;
    let (_, content_type, expected) = ALLOWED
        .iter()
        .find(|(e, _, _)| *e == ext)
        .ok_or(REFUSED_TYPE)?;
    match magic(head) {
        Some(found) if found == *expected => Ok(content_type),
        _ => Err(REFUSED_TYPE),
    }
}

/// A file name safe to keep and to send back in `Content-Disposition`: no path, no
/// control characters, at most 255 characters.
pub fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(255)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "fichier".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognized_and_consistent() {
        assert_eq!(sniff("devis.pdf", b"%PDF-1.7\n..."), Ok("application/pdf"));
        assert_eq!(sniff("Photo.JPG", b"\xff\xd8\xff\xe0..."), Ok("image/jpeg"));
        assert_eq!(
            sniff("scan.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Ok("image/png")
        );
        assert_eq!(
            sniff("budget.xlsx", b"PK\x03\x04\x14\0\x06\0"),
            Ok("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert_eq!(
            sniff("statuts.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"),
            Ok("application/msword")
        );
        assert_eq!(
            sniff("notes.txt", "Été 2024\n".as_bytes()),
            Ok("text/plain")
        );
        assert_eq!(sniff("liste.csv", b"nom;prenom\n"), Ok("text/csv"));
        assert_eq!(
            sniff("video.mp4", b"\0\0\0\x18ftypmp42\0\0\0\0"),
            Ok("video/mp4")
        );
    }

    #[test]
    fn executables_are_refused_whatever_their_name() {
        for head in [
            &b"\x7fELF\x02\x01\x01\0"[..],
            b"MZ\x90\0\x03\0",
            b"\xcf\xfa\xed\xfe\x07\0\0\x01",
            b"#!/bin/sh\nrm -rf /\n",
        ] {
            assert_eq!(sniff("facture.pdf", head), Err(REFUSED_TYPE));
            assert_eq!(sniff("notes.txt", head), Err(REFUSED_TYPE));
        }
    }

    #[test]
    fn inconsistent_or_unknown_refused() {
        assert_eq!(sniff("photo.png", b"%PDF-1.4"), Err(REFUSED_TYPE));
        assert_eq!(sniff("devis.pdf", b"\x89PNG\r\n\x1a\n"), Err(REFUSED_TYPE));
        assert_eq!(sniff("devis.pdf", b"juste du texte"), Err(REFUSED_TYPE));
        assert_eq!(sniff("script.sh", b"echo bonjour"), Err(REFUSED_TYPE));
        assert_eq!(sniff("programme.exe", b"\0\0\0"), Err(REFUSED_TYPE));
        assert_eq!(sniff("sans-extension", b"%PDF-1.4"), Err(REFUSED_TYPE));
        assert_eq!(sniff(".pdf", b"%PDF-1.4"), Err(REFUSED_TYPE));
        assert_eq!(sniff("vide.txt", b""), Err(REFUSED_TYPE));
        assert_eq!(sniff("binaire.txt", b"ab\0cd"), Err(REFUSED_TYPE));
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_filename("C:\\Users\\moi\\devis.pdf"), "devis.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\"b\r\n.pdf"), "ab.pdf");
        assert_eq!(clean_filename("   "), "fichier");
        assert_eq!(clean_filename("..."), "fichier");
    }
}
