//! The champ « carte » (FEATURES §4): points, lines and polygons drawn by the usager on a
//! map, or imported from a GPX or KML file, stored as a GeoJSON `FeatureCollection`.
//!
//! Everything here is pure: parsing and checking GeoJSON, converting GPX and KML, and the
//! measures shown to the instructeur (area of a polygon, length of a line, coordinates of a
//! point). Coordinates are WGS 84 longitude/latitude, as in GeoJSON.

use serde_json::{Map, Value, json};

use super::format_thousands;

/// At most this many geometries in one champ.
pub const MAX_GEOMETRIES: usize = 100;
/// At most this many positions (all geometries together) in one champ.
pub const MAX_POSITIONS: usize = 20_000;
/// Largest GeoJSON text accepted from the form.
pub const MAX_GEOJSON_BYTES: usize = 2 * 1024 * 1024;
/// Largest GPX or KML file accepted.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;
/// Longest name kept for a geometry.
const MAX_NAME_CHARS: usize = 200;
/// Mean Earth radius used for lengths (haversine), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Equatorial radius used for areas (spherical excess formula, as turf and Leaflet), in metres.
const AREA_RADIUS_M: f64 = 6_378_137.0;

/// The reference layers of DS cartes (key, French label), offered in the builder besides
/// the usager's own selection. Only the selection is drawn today.
pub const LAYERS: [(&str, &str); 10] = [
    ("cadastres", "Cadastres"),
    ("unesco", "Patrimoine mondial de l’UNESCO"),
    ("arretes_protection", "Arrêtés de protection"),
    ("conservatoire_littoral", "Conservatoire du littoral"),
    (
        "reserves_chasse_faune_sauvage",
        "Réserves nationales de chasse et de faune sauvage",
    ),
    ("reserves_biologiques", "Réserves biologiques"),
    ("reserves_naturelles", "Réserves naturelles"),
    ("natura_2000", "Natura 2000"),
    ("zones_humides", "Zones humides d’importance internationale"),
    ("znieff", "ZNIEFF"),
];

/// The French label of a layer key.
pub fn layer_libelle(key: &str) -> Option<&'static str> {
    LAYERS.iter().find(|(k, _)| *k == key).map(|(_, l)| *l)
}

/// A WGS 84 position: `[longitude, latitude]`.
pub type Position = [f64; 2];

/// The geometry types a carte holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Point(Position),
    /// At least two positions.
    Line(Vec<Position>),
    /// The outer ring then the holes; each ring closed, at least four positions.
    Polygon(Vec<Vec<Position>>),
}

/// One geometry with its optional name (from the imported file).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub shape: Shape,
    pub name: Option<String>,
}

impl Shape {
    /// The French name of the kind of geometry.
    pub fn libelle(&self) -> &'static str {
        match self {
            Shape::Point(_) => "Point",
            Shape::Line(_) => "Ligne",
            Shape::Polygon(_) => "Polygone",
        }
    }

    fn positions(&self) -> usize {
        match self {
            Shape::Point(_) => 1,
            Shape::Line(line) => line.len(),
            Shape::Polygon(rings) => rings.iter().map(Vec::len).sum(),
        }
    }

    /// The measure shown for it: coordinates, length or area.
    pub fn measure(&self) -> String {
        match self {
            Shape::Point(p) => format_position(*p),
            Shape::Line(line) => format_length(length_m(line)),
            Shape::Polygon(rings) => format_area(area_m2(rings)),
        }
    }

    fn to_geojson(&self) -> Value {
        let pos = |p: &Position| json!([p[0], p[1]]);
        match self {
            Shape::Point(p) => json!({ "type": "Point", "coordinates": pos(p) }),
            Shape::Line(line) => json!({
                "type": "LineString",
                "coordinates": line.iter().map(pos).collect::<Vec<_>>(),
            }),
            Shape::Polygon(rings) => json!({
                "type": "Polygon",
                "coordinates": rings
                    .iter()
                    .map(|r| r.iter().map(pos).collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
            }),
        }
    }
}

// ------------------------------------------------------------------ GeoJSON

/// Checks the GeoJSON typed or drawn for a carte and returns the value to store: a
/// `FeatureCollection` of points, lines and polygons (multi-geometries are split, names
/// kept, other properties dropped). A blank text or an empty collection gives `Ok(None)`.
/// Errors are French messages (without the champ's name).
pub fn validate(raw: &str) -> Result<Option<Value>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > MAX_GEOJSON_BYTES {
        return Err(format!(
            "le tracé est trop volumineux (au plus {} Mo).",
            MAX_GEOJSON_BYTES / (1024 * 1024)
        ));
    }
    let value: Value = serde_json::from_str(raw).map_err(|_| {
        "le tracé n’est pas un GeoJSON valide. Dessinez sur la carte ou importez un fichier GPX ou KML."
            .to_owned()
    })?;
    let features = from_geojson(&value)?;
    check_limits(&features)?;
    Ok((!features.is_empty()).then(|| to_value(&features)))
}

/// The features of a GeoJSON object: a `FeatureCollection`, a `Feature` or a bare geometry.
pub fn from_geojson(value: &Value) -> Result<Vec<Feature>, String> {
    let mut out = Vec::new();
    match kind_of(value) {
        Some("FeatureCollection") => {
            let features = value
                .get("features")
                .and_then(Value::as_array)
                .ok_or("la collection GeoJSON n’a pas de liste « features ».")?;
            for (i, feature) in features.iter().enumerate() {
                feature_into(feature, &mut out)
                    .map_err(|e| format!("géométrie n° {} : {e}", i + 1))?;
            }
        }
        Some("Feature") => feature_into(value, &mut out)?,
        Some(_) => geometry_into(value, None, &mut out)?,
        None => return Err("le GeoJSON doit être un objet avec un « type ».".to_owned()),
    }
    Ok(out)
}

fn kind_of(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

fn feature_into(feature: &Value, out: &mut Vec<Feature>) -> Result<(), String> {
    if kind_of(feature) != Some("Feature") {
        return Err("chaque élément doit être un « Feature » GeoJSON.".to_owned());
    }
    let name = feature
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .and_then(clean_name);
    match feature.get("geometry") {
        Some(geometry @ Value::Object(_)) => geometry_into(geometry, name, out),
        _ => Err("le « Feature » n’a pas de géométrie.".to_owned()),
    }
}

fn geometry_into(
    geometry: &Value,
    name: Option<String>,
    out: &mut Vec<Feature>,
) -> Result<(), String> {
    let coordinates = geometry.get("coordinates");
    let coords = || coordinates.ok_or("la géométrie n’a pas de coordonnées.");
    let mut push = |shape| {
        out.push(Feature {
            shape,
            name: name.clone(),
        })
    };
    match kind_of(geometry) {
        Some("Point") => push(Shape::Point(position(coords()?)?)),
        Some("MultiPoint") => {
            for p in list(coords()?)? {
                push(Shape::Point(position(p)?));
            }
        }
        Some("LineString") => push(Shape::Line(line(coords()?)?)),
        Some("MultiLineString") => {
            for l in list(coords()?)? {
                push(Shape::Line(line(l)?));
            }
        }
        Some("Polygon") => push(Shape::Polygon(polygon(coords()?)?)),
        Some("MultiPolygon") => {
            for p in list(coords()?)? {
                push(Shape::Polygon(polygon(p)?));
            }
        }
        Some("GeometryCollection") => {
            let geometries = geometry
                .get("geometries")
                .and_then(Value::as_array)
                .ok_or("la collection de géométries est vide.")?;
            for g in geometries {
                geometry_into(g, name.clone(), out)?;
            }
        }
        Some(other) => {
            return Err(format!(
                "le type de géométrie « {other} » n’est pas accepté (points, lignes et polygones seulement)."
            ));
        }
        None => return Err("la géométrie n’a pas de « type ».".to_owned()),
    }
    Ok(())
}

fn list(value: &Value) -> Result<&Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| "les coordonnées doivent être une liste.".to_owned())
}

fn position(value: &Value) -> Result<Position, String> {
    let items = list(value)?;
    let number = |i: usize| items.get(i).and_then(Value::as_f64);
    match (number(0), number(1)) {
        (Some(lon), Some(lat)) if items.len() <= 3 => checked_position(lon, lat),
        _ => Err("chaque position doit être [longitude, latitude].".to_owned()),
    }
}

/// A position whose longitude is within [-180, 180] and latitude within [-90, 90].
pub fn checked_position(lon: f64, lat: f64) -> Result<Position, String> {
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(format!(
            "la longitude {} est hors limites (entre -180 et 180).",
            format_decimal(lon, 6)
        ));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(format!(
            "la latitude {} est hors limites (entre -90 et 90).",
            format_decimal(lat, 6)
        ));
    }
    Ok([lon, lat])
}

fn line(value: &Value) -> Result<Vec<Position>, String> {
    let positions = list(value)?
        .iter()
        .map(position)
        .collect::<Result<Vec<_>, _>>()?;
    checked_line(positions)
}

fn checked_line(positions: Vec<Position>) -> Result<Vec<Position>, String> {
    if positions.len() < 2 {
        return Err("une ligne doit avoir au moins deux points.".to_owned());
    }
    Ok(positions)
}

fn polygon(value: &Value) -> Result<Vec<Vec<Position>>, String> {
    let rings = list(value)?
        .iter()
        .map(|r| list(r)?.iter().map(position).collect::<Result<Vec<_>, _>>())
        .collect::<Result<Vec<_>, _>>()?;
    checked_polygon(rings)
}

/// Closes each ring when its last position is not its first; a ring needs three distinct
/// corners.
fn checked_polygon(rings: Vec<Vec<Position>>) -> Result<Vec<Vec<Position>>, String> {
    if rings.is_empty() {
        return Err("un polygone doit avoir au moins trois sommets.".to_owned());
    }
    rings
        .into_iter()
        .map(|mut ring| {
            if ring.first() != ring.last()
                && let Some(first) = ring.first().copied()
            {
                ring.push(first);
            }
            if ring.len() < 4 {
                return Err("un polygone doit avoir au moins trois sommets.".to_owned());
            }
            Ok(ring)
        })
        .collect()
}

fn clean_name(name: &str) -> Option<String> {
    let name: String = name.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then(|| name.chars().take(MAX_NAME_CHARS).collect())
}

/// Refuses a carte with too many geometries or positions.
pub fn check_limits(features: &[Feature]) -> Result<(), String> {
    if features.len() > MAX_GEOMETRIES {
        return Err(format!(
            "{} géométries : une carte en accepte au plus {MAX_GEOMETRIES}.",
            features.len()
        ));
    }
    let positions: usize = features.iter().map(|f| f.shape.positions()).sum();
    if positions > MAX_POSITIONS {
        return Err(format!(
            "le tracé compte {} points : une carte en accepte au plus {}.",
            format_thousands(positions as u64),
            format_thousands(MAX_POSITIONS as u64)
        ));
    }
    Ok(())
}

/// The stored value: a `FeatureCollection` (a feature's `properties` hold its name, if any).
pub fn to_value(features: &[Feature]) -> Value {
    let features: Vec<Value> = features
        .iter()
        .map(|f| {
            let mut properties = Map::new();
            if let Some(name) = &f.name {
                properties.insert("name".to_owned(), Value::from(name.as_str()));
            }
            json!({
                "type": "Feature",
                "geometry": f.shape.to_geojson(),
                "properties": properties,
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

/// The features of a stored value (what cannot be read is left out).
pub fn features_of(value: &Value) -> Vec<Feature> {
    match value.get("features").and_then(Value::as_array) {
        Some(features) => features
            .iter()
            .filter_map(|f| {
                let mut one = Vec::new();
                feature_into(f, &mut one).ok().map(|()| one)
            })
            .flatten()
            .collect(),
        None => Vec::new(),
    }
}

/// The stored geometries followed by the imported ones, within the limits.
pub fn merge(stored: Option<&Value>, imported: Vec<Feature>) -> Result<Value, String> {
    let mut features = stored.map(features_of).unwrap_or_default();
    features.extend(imported);
    check_limits(&features)?;
    Ok(to_value(&features))
}

// ------------------------------------------------------------------ display

/// One line per geometry: its kind, its name and its measure, e.g.
/// `Polygone « Parcelle » : 1,25 ha`.
pub fn describe(value: &Value) -> Vec<String> {
    features_of(value)
        .iter()
        .map(|f| {
            let name = f
                .name
                .as_ref()
                .map(|n| format!(" « {n} »"))
                .unwrap_or_default();
            format!("{}{name} : {}", f.shape.libelle(), f.shape.measure())
        })
        .collect()
}

/// The champ's text (display and `stringValue`): the lines of [`describe`].
pub fn display(value: &Value) -> String {
    describe(value).join("\n")
}

/// Length of a line along the great circles, in metres (haversine).
pub fn length_m(line: &[Position]) -> f64 {
    line.windows(2)
        .map(|w| {
            let (lon1, lat1) = (w[0][0].to_radians(), w[0][1].to_radians());
            let (lon2, lat2) = (w[1][0].to_radians(), w[1][1].to_radians());
            let a = ((lat2 - lat1) / 2.0).sin().powi(2)
                + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
            2.0 * EARTH_RADIUS_M * a.sqrt().atan2((1.0 - a).sqrt())
        })
        .sum()
}

/// Area of a polygon (outer ring minus holes) on the sphere, in square metres
/// (the formula of Chamberlain & Duquette, as turf and Leaflet.draw).
pub fn area_m2(rings: &[Vec<Position>]) -> f64 {
    let mut rings = rings.iter().map(|r| ring_area(r));
    let outer = rings.next().unwrap_or(0.0);
    (outer - rings.sum::<f64>()).max(0.0)
}

fn ring_area(ring: &[Position]) -> f64 {
    // The open ring (without its closing position).
    let ring = match ring {
        [first, .., last] if first == last => &ring[..ring.len() - 1],
        _ => ring,
    };
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let total: f64 = (0..n)
        .map(|i| {
            let prev = ring[(i + n - 1) % n];
            let next = ring[(i + 1) % n];
            (next[0] - prev[0]).to_radians() * ring[i][1].to_radians().sin()
        })
        .sum();
    (total * AREA_RADIUS_M * AREA_RADIUS_M / 2.0).abs()
}

/// `1 234 m²` under a hectare, then `12,35 ha`.
pub fn format_area(m2: f64) -> String {
    if m2 < 10_000.0 {
        format!("{} m²", format_thousands(m2.round() as u64))
    } else {
        format!("{} ha", format_decimal(m2 / 10_000.0, 2))
    }
}

/// `850 m` under a kilometre, then `12,35 km`.
pub fn format_length(m: f64) -> String {
    if m < 1_000.0 {
        format!("{} m", m.round() as u64)
    } else {
        format!("{} km", format_decimal(m / 1_000.0, 2))
    }
}

/// `48,85660° N, 2,35220° E` (latitude first, five decimals: about a metre).
pub fn format_position(p: Position) -> String {
    let [lon, lat] = p;
    let ns = if lat < 0.0 { "S" } else { "N" };
    let eo = if lon < 0.0 { "O" } else { "E" };
    format!(
        "{}° {ns}, {}° {eo}",
        format_decimal(lat.abs(), 5),
        format_decimal(lon.abs(), 5)
    )
}

/// A non-negative number with `decimals` decimals, a comma and grouped thousands.
fn format_decimal(x: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = int
        .parse::<u64>()
        .map(format_thousands)
        .unwrap_or_else(|_| int.to_owned());
    let sign = if x < 0.0 && text.chars().any(|c| ('1'..='9').contains(&c)) {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int},{frac}")
    }
}

// ------------------------------------------------------------------ GPX and KML

/// The formats a carte imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Gpx,
    Kml,
}

/// Reads a GPX or KML file (by its extension, else by its root element) into geometries.
/// Errors are French messages for the usager.
pub fn import(filename: &str, bytes: &[u8]) -> Result<Vec<Feature>, String> {
    if bytes.is_empty() {
        return Err("Le fichier est vide.".to_owned());
    }
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(format!(
            "Le fichier dépasse la taille maximale autorisée ({} Mo).",
            MAX_IMPORT_BYTES / (1024 * 1024)
        ));
    }
    let lower = filename.to_lowercase();
    if lower.ends_with(".kmz") || bytes.starts_with(b"PK") {
        return Err(
            "Les fichiers KMZ (compressés) ne sont pas acceptés : exportez votre tracé au format KML ou GPX."
                .to_owned(),
        );
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        "Le fichier n’est pas un fichier GPX ou KML lisible (encodage UTF-8 attendu).".to_owned()
    })?;
    let doc = roxmltree::Document::parse(text.trim_start_matches('\u{feff}')).map_err(|_| {
        "Le fichier n’est pas un fichier GPX ou KML valide : son contenu XML est mal formé."
            .to_owned()
    })?;
    let format = match doc.root_element().tag_name().name() {
        "gpx" => ImportFormat::Gpx,
        "kml" => ImportFormat::Kml,
        _ if lower.ends_with(".gpx") => {
            return Err(
                "Le fichier n’est pas un fichier GPX valide (élément « gpx » attendu).".to_owned(),
            );
        }
        _ if lower.ends_with(".kml") => {
            return Err(
                "Le fichier n’est pas un fichier KML valide (élément « kml » attendu).".to_owned(),
            );
        }
        _ => return Err("Choisissez un fichier GPX (.gpx) ou KML (.kml).".to_owned()),
    };
    let (features, label) = match format {
        ImportFormat::Gpx => (gpx(&doc)?, "GPX"),
        ImportFormat::Kml => (kml(&doc)?, "KML"),
    };
    if features.is_empty() {
        return Err(format!(
            "Le fichier {label} ne contient aucun point, ligne ni polygone."
        ));
    }
    check_limits(&features).map_err(|e| format!("Le fichier est trop détaillé : {e}"))?;
    Ok(features)
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    node.children()
        .find(|c| c.tag_name().name() == name)
        .and_then(|c| c.text())
        .and_then(clean_name)
}

fn named<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    node.children().filter(move |c| c.tag_name().name() == name)
}

/// GPX 1.0/1.1: waypoints → points, routes → lines, each track segment → a line.
fn gpx(doc: &roxmltree::Document<'_>) -> Result<Vec<Feature>, String> {
    let root = doc.root_element();
    let point = |node: roxmltree::Node<'_, '_>| -> Result<Position, String> {
        let coord = |attr: &str| {
            node.attribute(attr)
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        match (coord("lon"), coord("lat")) {
            (Some(lon), Some(lat)) => {
                checked_position(lon, lat).map_err(|e| format!("Fichier GPX : {e}"))
            }
            _ => Err(format!(
                "Fichier GPX : un élément « {} » n’a pas de latitude ou de longitude valide.",
                node.tag_name().name()
            )),
        }
    };
    let mut out = Vec::new();
    for wpt in named(root, "wpt") {
        out.push(Feature {
            shape: Shape::Point(point(wpt)?),
            name: child_text(wpt, "name"),
        });
    }
    for rte in named(root, "rte") {
        let positions = named(rte, "rtept")
            .map(point)
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Feature {
            shape: Shape::Line(checked_line(positions).map_err(|e| format!("Fichier GPX : {e}"))?),
            name: child_text(rte, "name"),
        });
    }
    for trk in named(root, "trk") {
        let name = child_text(trk, "name");
        for seg in named(trk, "trkseg") {
            let positions = named(seg, "trkpt")
                .map(point)
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Feature {
                shape: Shape::Line(
                    checked_line(positions).map_err(|e| format!("Fichier GPX : {e}"))?,
                ),
                name: name.clone(),
            });
        }
    }
    Ok(out)
}

/// KML: each `Placemark`'s `Point`, `LineString` and `Polygon` (also inside a
/// `MultiGeometry`), named by the placemark's `name`.
fn kml(doc: &roxmltree::Document<'_>) -> Result<Vec<Feature>, String> {
    let kml_err = |e: String| format!("Fichier KML : {e}");
    let mut out = Vec::new();
    for placemark in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "Placemark")
    {
        let name = child_text(placemark, "name");
        for geometry in placemark.descendants() {
            let shape = match geometry.tag_name().name() {
                "Point" => {
                    let positions = kml_coordinates(geometry).map_err(kml_err)?;
                    match positions.as_slice() {
                        [p] => Shape::Point(*p),
                        _ => {
                            return Err(kml_err(
                                "un point doit avoir une seule position.".to_owned(),
                            ));
                        }
                    }
                }
                "LineString" => Shape::Line(
                    checked_line(kml_coordinates(geometry).map_err(kml_err)?).map_err(kml_err)?,
                ),
                "Polygon" => {
                    let mut rings = Vec::new();
                    for boundary in ["outerBoundaryIs", "innerBoundaryIs"] {
                        for b in named(geometry, boundary) {
                            for ring in b
                                .descendants()
                                .filter(|n| n.tag_name().name() == "LinearRing")
                            {
                                rings.push(kml_coordinates(ring).map_err(kml_err)?);
                            }
                        }
                    }
                    Shape::Polygon(checked_polygon(rings).map_err(kml_err)?)
                }
                _ => continue,
            };
            out.push(Feature {
                shape,
                name: name.clone(),
            });
        }
    }
    Ok(out)
}

/// The `coordinates` child of a KML geometry: tuples `lon,lat[,alt]` separated by spaces.
fn kml_coordinates(node: roxmltree::Node<'_, '_>) -> Result<Vec<Position>, String> {
    let text = node
        .children()
        .find(|c| c.tag_name().name() == "coordinates")
        .and_then(|c| c.text())
        .ok_or("une géométrie n’a pas de coordonnées.")?;
    text.split_whitespace()
        .map(|tuple| {
            let parts: Vec<&str> = tuple.split(',').collect();
            let number = |i: usize| parts.get(i).and_then(|v| v.parse::<f64>().ok());
            match (number(0), number(1)) {
                (Some(lon), Some(lat)) if parts.len() <= 3 => checked_position(lon, lat),
                _ => Err(format!("les coordonnées « {tuple} » sont illisibles.")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPX: &str = include_str!("../../../tests/fixtures/carte/trace.gpx");
    const KML: &str = include_str!("../../../tests/fixtures/carte/parcelles.kml");

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn blank_and_empty_collections_store_nothing() {
        assert_eq!(validate("  "), Ok(None));
        assert_eq!(
            validate(r#"{"type":"FeatureCollection","features":[]}"#),
            Ok(None)
        );
    }

    #[test]
    fn geometries_are_normalized_to_a_feature_collection() {
        let raw = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"name":"  Mairie ","color":"red"},
             "geometry":{"type":"Point","coordinates":[2.3522,48.8566,35]}},
            {"type":"Feature","properties":null,
             "geometry":{"type":"Polygon","coordinates":[[[2,48],[2.01,48],[2.01,48.01]]]}}
        ]}"#;
        let stored = validate(raw).ok().flatten().unwrap_or_default();
        assert_eq!(
            stored,
            json!({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"name": "Mairie"},
                 "geometry": {"type": "Point", "coordinates": [2.3522, 48.8566]}},
                {"type": "Feature", "properties": {},
                 "geometry": {"type": "Polygon",
                              "coordinates": [[[2.0, 48.0], [2.01, 48.0], [2.01, 48.01], [2.0, 48.0]]]}}
            ]})
        );
        // A bare geometry and a multi-geometry are accepted too.
        let bare = validate(r#"{"type":"MultiPoint","coordinates":[[1,2],[3,4]]}"#)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(features_of(&bare).len(), 2);
    }

    #[test]
    fn invalid_geojson_is_refused_in_french() {
        let err = |raw: &str| validate(raw).err().unwrap_or_default();
        assert!(err("pas du json").contains("n’est pas un GeoJSON valide"));
        assert_eq!(
            err(r#"{"type":"Point","coordinates":[200,48]}"#),
            "la longitude 200,000000 est hors limites (entre -180 et 180)."
        );
        assert_eq!(
            err(r#"{"type":"Point","coordinates":[2,-91.5]}"#),
            "la latitude -91,500000 est hors limites (entre -90 et 90)."
        );
        assert_eq!(
            err(r#"{"type":"LineString","coordinates":[[2,48]]}"#),
            "une ligne doit avoir au moins deux points."
        );
        assert_eq!(
            err(r#"{"type":"Polygon","coordinates":[[[2,48],[3,48],[2,48]]]}"#),
            "un polygone doit avoir au moins trois sommets."
        );
        assert!(
            err(r#"{"type":"Circle","coordinates":[2,48]}"#)
                .contains("« Circle » n’est pas accepté")
        );
        assert_eq!(
            err(
                r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":["a",1]}}]}"#
            ),
            "géométrie n° 1 : chaque position doit être [longitude, latitude]."
        );
        assert!(err("[1,2]").contains("objet avec un « type »"));
    }

    #[test]
    fn limits_on_geometries_and_positions() {
        let points: Vec<Value> = (0..=MAX_GEOMETRIES)
            .map(|i| json!({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [i as f64 / 1000.0, 45.0]}}))
            .collect();
        let raw = json!({"type": "FeatureCollection", "features": points}).to_string();
        assert_eq!(
            validate(&raw).err().unwrap_or_default(),
            "101 géométries : une carte en accepte au plus 100."
        );
        let long: Vec<Value> = (0..=MAX_POSITIONS)
            .map(|i| json!([i as f64 / 100_000.0, 45.0]))
            .collect();
        let raw = json!({"type": "LineString", "coordinates": long}).to_string();
        assert_eq!(
            validate(&raw).err().unwrap_or_default(),
            "le tracé compte 20 001 points : une carte en accepte au plus 20 000."
        );
    }

    #[test]
    fn lengths_and_areas() {
        // One degree of latitude along a meridian.
        assert!(close(length_m(&[[2.0, 48.0], [2.0, 49.0]]), 111_195.0, 1.0));
        // Paris → Lyon, about 392 km as the crow flies.
        let paris_lyon = length_m(&[[2.3522, 48.8566], [4.8357, 45.7640]]);
        assert!(close(paris_lyon, 392_000.0, 2_000.0), "{paris_lyon}");
        // A one-degree square on the equator: R² · Δλ · sin(1°).
        let square = vec![vec![
            [0.0, 0.0],
            [1.0, 0.0],
            [1.0, 1.0],
            [0.0, 1.0],
            [0.0, 0.0],
        ]];
        let expected = AREA_RADIUS_M.powi(2) * 1f64.to_radians() * 1f64.to_radians().sin();
        assert!(close(area_m2(&square), expected, 1.0));
        // Orientation does not matter; a hole is subtracted.
        let reversed = vec![square[0].iter().rev().copied().collect::<Vec<_>>()];
        assert!(close(area_m2(&reversed), expected, 1.0));
        let hole = vec![
            [0.25, 0.25],
            [0.75, 0.25],
            [0.75, 0.75],
            [0.25, 0.75],
            [0.25, 0.25],
        ];
        let with_hole = area_m2(&[square[0].clone(), hole]);
        assert!(close(with_hole / expected, 0.75, 0.001));
        // About 100 m × 100 m at 48° N: about one hectare.
        let field = vec![vec![
            [2.0, 48.0],
            [2.001_345, 48.0],
            [2.001_345, 48.000_9],
            [2.0, 48.000_9],
        ]];
        assert!(
            close(area_m2(&field), 10_000.0, 150.0),
            "{}",
            area_m2(&field)
        );
    }

    #[test]
    fn measures_in_french() {
        assert_eq!(format_area(1234.4), "1 234 m²");
        assert_eq!(format_area(123_456.0), "12,35 ha");
        assert_eq!(format_area(12_345_678_900.0), "1 234 567,89 ha");
        assert_eq!(format_length(849.6), "850 m");
        assert_eq!(format_length(12_345.0), "12,35 km");
        assert_eq!(
            format_position([2.3522, 48.8566]),
            "48,85660° N, 2,35220° E"
        );
        assert_eq!(format_position([-70.5, -33.25]), "33,25000° S, 70,50000° O");
    }

    #[test]
    fn display_lists_each_geometry_with_its_measure() {
        let value = to_value(&[
            Feature {
                shape: Shape::Point([2.3522, 48.8566]),
                name: Some("Mairie".to_owned()),
            },
            Feature {
                shape: Shape::Line(vec![[2.0, 48.0], [2.0, 49.0]]),
                name: None,
            },
            Feature {
                shape: Shape::Polygon(vec![vec![
                    [0.0, 0.0],
                    [0.01, 0.0],
                    [0.01, 0.01],
                    [0.0, 0.0],
                ]]),
                name: None,
            },
        ]);
        assert_eq!(
            display(&value),
            "Point « Mairie » : 48,85660° N, 2,35220° E\nLigne : 111,20 km\nPolygone : 61,96 ha"
        );
        assert_eq!(display(&json!("pas une carte")), "");
    }

    #[test]
    fn merge_keeps_what_was_drawn_and_checks_limits() {
        let drawn = to_value(&[Feature {
            shape: Shape::Point([1.0, 1.0]),
            name: None,
        }]);
        let imported = vec![Feature {
            shape: Shape::Point([2.0, 2.0]),
            name: Some("B".to_owned()),
        }];
        let merged = merge(Some(&drawn), imported).unwrap_or_default();
        assert_eq!(features_of(&merged).len(), 2);
        let many: Vec<Feature> = (0..MAX_GEOMETRIES)
            .map(|_| Feature {
                shape: Shape::Point([0.0, 0.0]),
                name: None,
            })
            .collect();
        assert!(merge(Some(&drawn), many).is_err());
    }

    #[test]
    fn the_champ_validates_and_displays_through_the_champ_rules() {
        use crate::domain::champ::{ChampDef, ChampOptions, TypeChamp, check_mandatory};
        let options = ChampOptions::default();
        let def = ChampDef {
            type_champ: TypeChamp::Carte,
            libelle: "Emprise du projet",
            mandatory: true,
            options: &options,
        };
        assert_eq!(
            crate::domain::validate(&def, r#"{"type":"Point","coordinates":[2,100]}"#),
            Err("« Emprise du projet » : la latitude 100,000000 est hors limites (entre -90 et 90).".to_owned())
        );
        let stored = crate::domain::validate(&def, r#"{"type":"Point","coordinates":[2,45]}"#)
            .ok()
            .flatten();
        assert_eq!(
            stored
                .as_ref()
                .map(|v| crate::domain::display(TypeChamp::Carte, v)),
            Some("Point : 45,00000° N, 2,00000° E".to_owned())
        );
        assert!(check_mandatory(&def, stored.as_ref()).is_ok());
        assert_eq!(crate::domain::validate(&def, ""), Ok(None));
        assert_eq!(
            check_mandatory(&def, None),
            Err("Le champ « Emprise du projet » doit être rempli.".to_owned())
        );
        assert!(TypeChamp::Carte.is_typed() && TypeChamp::Carte.can_be_child());
    }

    #[test]
    fn gpx_waypoints_routes_and_tracks() {
        let features = import("trace.gpx", GPX.as_bytes()).unwrap_or_default();
        let kinds: Vec<(&str, Option<&str>)> = features
            .iter()
            .map(|f| (f.shape.libelle(), f.name.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Point", Some("Départ")),
                ("Ligne", Some("Itinéraire bis")),
                ("Ligne", Some("Boucle du lac")),
                ("Ligne", Some("Boucle du lac")),
            ]
        );
        assert_eq!(features[0].shape, Shape::Point([2.35, 48.85]));
        assert_eq!(
            features[2].shape,
            Shape::Line(vec![[2.35, 48.85], [2.36, 48.85], [2.36, 48.86]])
        );
    }

    #[test]
    fn kml_placemarks_with_polygons_holes_and_multi_geometries() {
        let features = import("parcelles.kml", KML.as_bytes()).unwrap_or_default();
        let kinds: Vec<(&str, Option<&str>)> = features
            .iter()
            .map(|f| (f.shape.libelle(), f.name.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Polygone", Some("Parcelle A")),
                ("Point", Some("Puits")),
                ("Ligne", Some("Chemin et borne")),
                ("Point", Some("Chemin et borne")),
            ]
        );
        let Shape::Polygon(rings) = &features[0].shape else {
            panic!("a polygon");
        };
        assert_eq!(rings.len(), 2);
        assert_eq!(rings[0][0], [2.0, 48.0]);
        assert_eq!(rings[0].last(), Some(&[2.0, 48.0]));
    }

    #[test]
    fn invalid_files_get_clear_messages() {
        let err = |name: &str, text: &str| import(name, text.as_bytes()).err().unwrap_or_default();
        assert_eq!(err("a.gpx", ""), "Le fichier est vide.");
        assert_eq!(
            err("a.gpx", "<gpx><trk>"),
            "Le fichier n’est pas un fichier GPX ou KML valide : son contenu XML est mal formé."
        );
        assert_eq!(
            err("a.gpx", "<html></html>"),
            "Le fichier n’est pas un fichier GPX valide (élément « gpx » attendu)."
        );
        assert_eq!(
            err("a.txt", "<html></html>"),
            "Choisissez un fichier GPX (.gpx) ou KML (.kml)."
        );
        assert_eq!(
            err("a.gpx", r#"<gpx version="1.1"><metadata/></gpx>"#),
            "Le fichier GPX ne contient aucun point, ligne ni polygone."
        );
        assert_eq!(
            err("a.gpx", r#"<gpx><wpt lat="95" lon="2"/></gpx>"#),
            "Fichier GPX : la latitude 95,000000 est hors limites (entre -90 et 90)."
        );
        assert_eq!(
            err("a.gpx", r#"<gpx><wpt lat="x" lon="2"/></gpx>"#),
            "Fichier GPX : un élément « wpt » n’a pas de latitude ou de longitude valide."
        );
        assert_eq!(
            err(
                "a.kml",
                "<kml><Placemark><LineString><coordinates>2,48 a,b</coordinates></LineString></Placemark></kml>"
            ),
            "Fichier KML : les coordonnées « a,b » sont illisibles."
        );
        assert!(err("a.kmz", "PK\u{3}\u{4}").starts_with("Les fichiers KMZ"));
    }
}
