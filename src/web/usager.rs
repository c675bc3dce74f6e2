//! Pages of the usager area.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
