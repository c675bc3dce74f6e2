//! Loads the geographic referentials of the champs once at startup (the files installed by
//! `.ci/setup` into `var/npm`): an immutable [`GeoIndex`] shared by the handlers and the
//! actors. A missing or unreadable file leaves its list empty (logged): the champs that
//! need it then refuse values with a clear message rather than fail.

use std::path::Path;

use demarches_actors::domain::geo::GeoIndex;

use crate::config::GeoConfig;

fn read(path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "geographic data not available");
            None
        }
    }
}

fn parsed<T: Default>(path: &Path, parse: impl Fn(&str) -> Result<T, serde_json::Error>) -> T {
    let Some(text) = read(path) else {
        return T::default();
    };
    parse(&text).unwrap_or_else(|err| {
        tracing::warn!(path = %path.display(), %err, "geographic data unreadable");
        T::default()
    })
}

/// Reads régions, départements, communes and EPCI from `decoupage_dir`, the countries
/// from `pays_file`.
pub fn load(config: &GeoConfig) -> GeoIndex {
    let dir = &config.decoupage_dir;
    let index = GeoIndex {
        pays: parsed(&config.pays_file, GeoIndex::parse_pays),
        regions: parsed(&dir.join("regions.json"), GeoIndex::parse_places),
        departements: parsed(&dir.join("departements.json"), GeoIndex::parse_places),
        epci: parsed(&dir.join("epci.json"), GeoIndex::parse_epci),
        communes: parsed(&dir.join("communes.json"), GeoIndex::parse_communes),
    };
    tracing::info!(
        pays = index.pays.len(),
        regions = index.regions.len(),
        departements = index.departements.len(),
        communes = index.communes.len(),
        epci = index.epci.len(),
        "geographic referentials loaded"
    );
    index
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixtures() -> GeoConfig {
        GeoConfig {
            decoupage_dir: PathBuf::from("tests/fixtures/geo"),
            pays_file: PathBuf::from("tests/fixtures/geo/pays.json"),
        }
    }

    #[test]
    fn loads_the_fixtures() {
        let geo = load(&fixtures());
        assert_eq!(geo.regions.len(), 26);
        assert_eq!(
            GeoIndex::find(&geo.departements, "2A").map(|d| d.name.as_str()),
            Some("Corse-du-Sud")
        );
        assert_eq!(
            GeoIndex::find(&geo.pays, "FR").map(|p| p.name.as_str()),
            Some("France")
        );
        assert!(
            geo.epci
                .iter()
                .any(|e| e.name == "Métropole du Grand Paris")
        );
        let noyon = geo.communes_of_postal_code("60400");
        assert!(noyon.len() > 20, "{}", noyon.len());
        // Arrondissements are not communes of their own.
        assert!(
            geo.communes_starting("Marseille 8", None).is_empty(),
            "arrondissement"
        );
        assert_eq!(geo.communes_named("marseille", None).len(), 16);
    }

    #[test]
    fn missing_files_leave_empty_lists() {
        let geo = load(&GeoConfig {
            decoupage_dir: PathBuf::from("tests/fixtures/absent"),
            pays_file: PathBuf::from("tests/fixtures/absent/pays.json"),
        });
        assert_eq!(geo, GeoIndex::default());
    }

    #[test]
    fn loads_the_installed_data_when_present() {
        let config = GeoConfig::default();
        if !config.decoupage_dir.join("communes.json").exists() {
            return;
        }
        let geo = load(&config);
        assert!(geo.communes.len() > 30_000);
        assert_eq!(geo.communes_named("Coye-la-Forêt", None).len(), 1);
        assert!(geo.pays.len() > 200);
    }
}
