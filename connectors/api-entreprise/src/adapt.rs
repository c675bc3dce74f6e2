// API Entreprise payloads → the flat shape DS stores (EtablissementAdapter,
// EntrepriseAdapter, RNAAdapter; ../shared/connectors/README.md §1.7).
use connector_sdk::ConnectorError;
use serde_json::{Map, Value, json};

/// DS discards a whole result holding this value.
const UNAVAILABLE: &str = "Donnée indisponible";

pub struct Adapted {
    pub siret: String,
    pub raison_sociale: String,
    pub naf: Option<String>,
    /// The postal address on one line.
    pub adresse_ligne: Option<String>,
    pub actif: bool,
    pub rna: Option<String>,
    pub json: Value,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn owned(v: &Value, path: &[&str]) -> Value {
    s(v, path).map_or(Value::Null, |x| Value::String(x.to_string()))
}

/// Epoch seconds → `YYYY-MM-DD` (proleptic Gregorian, UTC).
fn date(epoch: Option<i64>) -> Value {
    let Some(secs) = epoch else {
        return Value::Null;
    };
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Value::String(format!("{y:04}-{m:02}-{d:02}"))
}

fn etat(code: Option<&str>) -> Value {
    match code {
        Some("A") => json!("actif"),
        Some("F" | "C") => json!("fermé"),
        _ => Value::Null,
    }
}

/// `nom_usage`, or `nom_naissance`, or `"nom_usage (nom_naissance)"` when both differ.
fn nom(pp: &Value) -> Option<String> {
    let usage = s(pp, &["nom_usage"]).filter(|x| !x.is_empty());
    let naissance = s(pp, &["nom_naissance"]).filter(|x| !x.is_empty());
    match (usage, naissance) {
        (Some(u), Some(n)) if u != n => Some(format!("{u} ({n})")),
        (Some(u), _) => Some(u.to_string()),
        (None, n) => n.map(str::to_string),
    }
}

/// The établissement (`data` of `/etablissements/{siret}`) and, when it was
/// fetched, the unité légale (`data` of `/unites_legales/{siren}`).
pub fn etablissement(etab: &Value, unite: Option<&Value>) -> Result<Adapted, ConnectorError> {
    let e = etab.get("data").ok_or(ConnectorError::Unavailable(None))?;
    let siret = s(e, &["siret"])
        .ok_or(ConnectorError::Unavailable(None))?
        .to_string();
    let ul = unite
        .and_then(|u| u.get("data"))
        .or_else(|| e.get("unite_legale"))
        .cloned()
        .unwrap_or(Value::Null);
    let a = e.get("adresse").cloned().unwrap_or(Value::Null);
    let lines: Vec<String> = ["l1", "l2", "l3", "l4", "l5", "l6", "l7"]
        .iter()
        .filter_map(|l| s(&a, &["acheminement_postal", l]).map(str::to_string))
        .collect();
    let adresse = (!lines.is_empty()).then(|| lines.join("\r\n"));
    // One line for display: the lines after the name, without blanks.
    let ligne: Vec<&str> = lines
        .iter()
        .skip(1)
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let adresse_ligne = (!ligne.is_empty()).then(|| ligne.join(", "));
    let localite = s(&a, &["libelle_commune"]).or_else(|| s(&a, &["libelle_commune_etranger"]));
    let naf = s(e, &["activite_principale", "code"]).map(str::to_string);
    let pp = ul
        .get("personne_physique_attributs")
        .cloned()
        .unwrap_or(Value::Null);
    let raison_sociale_pm = s(&ul, &["personne_morale_attributs", "raison_sociale"]);
    let entreprise_nom = nom(&pp);
    let prenom = s(&pp, &["prenom_usuel"]);
    let raison_sociale = match (raison_sociale_pm, &entreprise_nom) {
        (Some(r), _) if !r.is_empty() => r.to_string(),
        (_, Some(n)) => match prenom {
            Some(p) if !p.is_empty() => format!("{p} {n}"),
            _ => n.clone(),
        },
        _ => s(e, &["enseigne"]).unwrap_or_default().to_string(),
    };
    let rna = s(&ul, &["rna"])
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let actif = s(e, &["etat_administratif"]) == Some("A");

    let mut m = Map::new();
    m.insert("siret".into(), json!(siret));
    m.insert(
        "siege_social".into(),
        e.get("siege_social").cloned().unwrap_or(Value::Null),
    );
    m.insert(
        "etat_administratif".into(),
        etat(s(e, &["etat_administratif"])),
    );
    m.insert("enseigne".into(), owned(e, &["enseigne"]));
    m.insert(
        "diffusable_commercialement".into(),
        e.get("diffusable_commercialement")
            .cloned()
            .unwrap_or(Value::Null),
    );
    m.insert("naf".into(), json!(naf));
    m.insert(
        "libelle_naf".into(),
        owned(e, &["activite_principale", "libelle"]),
    );
    m.insert("numero_voie".into(), owned(&a, &["numero_voie"]));
    m.insert("type_voie".into(), owned(&a, &["type_voie"]));
    m.insert("nom_voie".into(), owned(&a, &["libelle_voie"]));
    m.insert(
        "complement_adresse".into(),
        owned(&a, &["complement_adresse"]),
    );
    m.insert("code_postal".into(), owned(&a, &["code_postal"]));
    m.insert("code_insee_localite".into(), owned(&a, &["code_commune"]));
    m.insert("localite".into(), json!(localite));
    m.insert("nom_pays".into(), owned(&a, &["libelle_pays_etranger"]));
    m.insert("adresse".into(), json!(adresse));
    m.insert("entreprise_siren".into(), owned(&ul, &["siren"]));
    m.insert(
        "entreprise_siret_siege_social".into(),
        owned(&ul, &["siret_siege_social"]),
    );
    m.insert(
        "entreprise_forme_juridique".into(),
        owned(&ul, &["forme_juridique", "libelle"]),
    );
    m.insert(
        "entreprise_forme_juridique_code".into(),
        owned(&ul, &["forme_juridique", "code"]),
    );
    m.insert("entreprise_raison_sociale".into(), json!(raison_sociale_pm));
    m.insert("entreprise_nom".into(), json!(entreprise_nom));
    m.insert("entreprise_prenom".into(), json!(prenom));
    m.insert(
        "entreprise_code_effectif_entreprise".into(),
        owned(&ul, &["tranche_effectif_salarie", "code"]),
    );
    m.insert(
        "entreprise_date_creation".into(),
        date(ul.get("date_creation").and_then(Value::as_i64)),
    );
    m.insert(
        "entreprise_etat_administratif".into(),
        etat(s(&ul, &["etat_administratif"])),
    );
    m.insert("association_rna".into(), json!(rna));
    if m.values().any(|v| v.as_str() == Some(UNAVAILABLE)) {
        return Err(ConnectorError::NotFound);
    }
    Ok(Adapted {
        siret,
        raison_sociale,
        naf,
        adresse_ligne,
        actif,
        rna,
        json: Value::Object(m),
    })
}

/// Adds the RNA fields of an association (`/associations/open_data/{siren}`).
pub fn association(json: &mut Value, assoc: &Value) {
    let (Some(m), Some(d)) = (json.as_object_mut(), assoc.get("data")) else {
        return;
    };
    let meta = assoc.get("meta").cloned().unwrap_or(Value::Null);
    m.insert("association_rna".into(), owned(d, &["rna"]));
    m.insert("association_titre".into(), owned(d, &["nom"]));
    m.insert(
        "association_objet".into(),
        owned(d, &["activites", "objet"]),
    );
    m.insert(
        "association_date_creation".into(),
        owned(d, &["date_creation"]),
    );
    m.insert(
        "association_date_declaration".into(),
        owned(&meta, &["date_derniere_mise_a_jour_rna"]),
    );
    m.insert(
        "association_date_publication".into(),
        owned(d, &["date_publication_journal_officiel"]),
    );
}
