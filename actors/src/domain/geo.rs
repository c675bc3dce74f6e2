//! Geographic referentials of the champs pays, régions, départements, communes and EPCI:
//! an immutable in-memory index, built once at startup from the open data files (the
//! shell reads them, see `src/geo.rs`; parsing the text is pure) and searched by code,
//! by name (accent-insensitive) and by postal code.
//!
//! Sources: `@etalab/decoupage-administratif` (régions, départements, communes, EPCI;
//! ODbL) and `i18n-iso-countries` (French names of the countries; MIT).

use serde::Deserialize;

/// A pays, région, département or EPCI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub code: String,
    pub name: String,
}

/// A commune (commune actuelle) and its postal codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commune {
    pub code: String,
    pub name: String,
    pub departement: String,
    pub postal_codes: Vec<String>,
    /// [`normalize`]d name.
    key: String,
}

/// One commune with one of its postal codes (what the usager picks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommuneMatch<'a> {
    pub commune: &'a Commune,
    pub postal_code: &'a str,
}

impl CommuneMatch<'_> {
    /// "Marseille (13001)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.commune.name, self.postal_code)
    }
}

/// The referentials. A list left empty means its data is not available.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoIndex {
    pub pays: Vec<Place>,
    pub regions: Vec<Place>,
    pub departements: Vec<Place>,
    pub epci: Vec<Place>,
    pub communes: Vec<Commune>,
}

/// No data at all (geographic champs then refuse values with a clear message).
pub static EMPTY_GEO: GeoIndex = GeoIndex {
    pays: Vec::new(),
    regions: Vec::new(),
    departements: Vec::new(),
    epci: Vec::new(),
    communes: Vec::new(),
};

#[derive(Deserialize)]
struct RawPlace {
    code: String,
    nom: String,
}

#[derive(Deserialize)]
struct RawCommune {
    code: String,
    nom: String,
    #[serde(default)]
    departement: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default, rename = "codesPostaux")]
    postal_codes: Vec<String>,
}

#[derive(Deserialize)]
struct RawCountries {
    countries: std::collections::BTreeMap<String, serde_json::Value>,
}

fn by_name(mut places: Vec<Place>) -> Vec<Place> {
    places.sort_by_cached_key(|p| normalize(&p.name));
    places
}

impl GeoIndex {
    /// Régions, départements or EPCI from a `decoupage-administratif` file (JSON array of
    /// objects with `code` and `nom`). Régions and départements keep their order (by
    /// code); EPCI are sorted by name.
    pub fn parse_places(json: &str) -> Result<Vec<Place>, serde_json::Error> {
        let raw: Vec<RawPlace> = serde_json::from_str(json)?;
        Ok(raw
            .into_iter()
            .map(|p| Place {
                code: p.code,
                name: p.nom,
            })
            .collect())
    }

    /// EPCI, sorted by name.
    pub fn parse_epci(json: &str) -> Result<Vec<Place>, serde_json::Error> {
        Self::parse_places(json).map(by_name)
    }

    /// Communes actuelles of `communes.json` (délégués, associées and arrondissements are
    /// left out), with at least one postal code.
    pub fn parse_communes(json: &str) -> Result<Vec<Commune>, serde_json::Error> {
        let raw: Vec<RawCommune> = serde_json::from_str(json)?;
        Ok(raw
            .into_iter()
            .filter(|c| {
                (c.kind.is_empty() || c.kind == "commune-actuelle") && !c.postal_codes.is_empty()
            })
            .map(|c| Commune {
                key: normalize(&c.nom),
                code: c.code,
                name: c.nom,
                departement: c.departement,
                postal_codes: c.postal_codes,
            })
            .collect())
    }

    /// Countries of an `i18n-iso-countries` language file (`{"countries": {"FR":
    /// "France", …}}`, a name or a list of names, the first one official), sorted by name.
    pub fn parse_pays(json: &str) -> Result<Vec<Place>, serde_json::Error> {
        let raw: RawCountries = serde_json::from_str(json)?;
        Ok(by_name(
            raw.countries
                .into_iter()
                .filter_map(|(code, name)| {
                    let name = match name {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Array(a) => a.first()?.as_str()?.to_owned(),
                        _ => return None,
                    };
                    Some(Place { code, name })
                })
                .collect(),
        ))
    }

    pub fn find<'a>(places: &'a [Place], code: &str) -> Option<&'a Place> {
        places.iter().find(|p| p.code == code)
    }

    /// The communes named `name` (accent-, case- and hyphen-insensitive), with
    /// `postal_code` when given, one match per postal code.
    pub fn communes_named(&self, name: &str, postal_code: Option<&str>) -> Vec<CommuneMatch<'_>> {
        let key = normalize(name);
        self.matches(|c| c.key == key, postal_code)
    }

    /// The communes whose name starts with `prefix` (accent-insensitive).
    pub fn communes_starting(
        &self,
        prefix: &str,
        postal_code: Option<&str>,
    ) -> Vec<CommuneMatch<'_>> {
        let key = normalize(prefix);
        self.matches(|c| c.key.starts_with(&key), postal_code)
    }

    /// The communes of a postal code.
    pub fn communes_of_postal_code(&self, postal_code: &str) -> Vec<CommuneMatch<'_>> {
        self.matches(|_| true, Some(postal_code))
    }

    fn matches(
        &self,
        keep: impl Fn(&Commune) -> bool,
        postal_code: Option<&str>,
    ) -> Vec<CommuneMatch<'_>> {
        let mut out: Vec<CommuneMatch<'_>> = self
            .communes
            .iter()
            .filter(|c| keep(c))
            .flat_map(|commune| {
                commune
                    .postal_codes
                    .iter()
                    .filter(move |pc| postal_code.is_none_or(|wanted| wanted == pc.as_str()))
                    .map(move |pc| CommuneMatch {
                        commune,
                        postal_code: pc,
                    })
            })
            .collect();
        out.sort_by(|a, b| {
            (a.commune.key.as_str(), a.postal_code).cmp(&(b.commune.key.as_str(), b.postal_code))
        });
        out
    }
}

/// Lowercase, without accents, hyphens and apostrophes as spaces, spaces collapsed:
/// "L’Haÿ-les-Roses" → "l hay les roses".
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let mapped: &str = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
            'ç' => "c",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' | 'ì' => "i",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'ÿ' | 'ý' => "y",
            'ñ' => "n",
            'œ' => "oe",
            'æ' => "ae",
            '-' | '\'' | '’' | '_' | ',' | '.' | '/' => " ",
            c if c.is_whitespace() => " ",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(mapped);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMUNES: &str = r#"[
      {"code": "13055", "nom": "Marseille", "type": "commune-actuelle", "departement": "13",
       "codesPostaux": ["13001", "13002"]},
      {"code": "13201", "nom": "Marseille 1er Arrondissement", "type": "arrondissement-municipal",
       "departement": "13", "codesPostaux": ["13001"]},
      {"code": "60172", "nom": "Coye-la-Forêt", "type": "commune-actuelle", "departement": "60",
       "codesPostaux": ["60580"]},
      {"code": "60471", "nom": "Noyon", "type": "commune-actuelle", "departement": "60",
       "codesPostaux": ["60400"]},
      {"code": "60021", "nom": "Appilly", "type": "commune-actuelle", "departement": "60",
       "codesPostaux": ["60400"]},
      {"code": "99999", "nom": "Sans code", "type": "commune-actuelle", "departement": "99",
       "codesPostaux": []}
    ]"#;

    fn index() -> GeoIndex {
        GeoIndex {
            communes: GeoIndex::parse_communes(COMMUNES).unwrap_or_default(),
            ..GeoIndex::default()
        }
    }

    #[test]
    fn normalize_names() {
        assert_eq!(normalize("L’Haÿ-les-Roses"), "l hay les roses");
        assert_eq!(normalize("  Coye-la-FORÊT "), "coye la foret");
        assert_eq!(normalize("Œuilly"), "oeuilly");
    }

    #[test]
    fn communes_are_the_current_ones_with_a_postal_code() {
        let names: Vec<String> = index().communes.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["Marseille", "Coye-la-Forêt", "Noyon", "Appilly"]);
    }

    #[test]
    fn communes_by_name_prefix_and_postal_code() {
        let geo = index();
        let labels =
            |m: Vec<CommuneMatch<'_>>| m.iter().map(CommuneMatch::label).collect::<Vec<_>>();
        assert_eq!(
            labels(geo.communes_named("coye la foret", None)),
            ["Coye-la-Forêt (60580)"]
        );
        assert_eq!(
            labels(geo.communes_named("MARSEILLE", None)),
            ["Marseille (13001)", "Marseille (13002)"]
        );
        assert_eq!(
            labels(geo.communes_named("Marseille", Some("13002"))),
            ["Marseille (13002)"]
        );
        assert_eq!(
            labels(geo.communes_starting("coye", None)),
            ["Coye-la-Forêt (60580)"]
        );
        assert_eq!(
            labels(geo.communes_of_postal_code("60400")),
            ["Appilly (60400)", "Noyon (60400)"]
        );
        assert!(geo.communes_of_postal_code("75001").is_empty());
    }

    #[test]
    fn places_and_countries() {
        let places =
            GeoIndex::parse_places(r#"[{"code": "11", "nom": "Île-de-France", "zone": "metro"}]"#)
                .unwrap_or_default();
        assert_eq!(
            GeoIndex::find(&places, "11").map(|p| p.name.as_str()),
            Some("Île-de-France")
        );
        let epci = GeoIndex::parse_epci(
            r#"[{"code": "2", "nom": "CC Zèbre"}, {"code": "1", "nom": "CA Éole"}]"#,
        )
        .unwrap_or_default();
        assert_eq!(epci[0].name, "CA Éole");
        let pays = GeoIndex::parse_pays(
            r#"{"locale": "fr", "countries": {"FR": "France", "DE": "Allemagne",
                "GB": ["Royaume-Uni", "UK"], "XX": 3}}"#,
        )
        .unwrap_or_default();
        let names: Vec<&str> = pays.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Allemagne", "France", "Royaume-Uni"]);
        assert!(GeoIndex::parse_places("{").is_err());
    }
}
