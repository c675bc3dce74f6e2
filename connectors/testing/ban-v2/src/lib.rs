//! Test guest: the BAN connector again, as version 2.0.0, with every label
//! prefixed by "v2 " so hot-swap tests can tell which version answered.
use connector_sdk::{Address, AddressGuest, ConnectorError, ConnectorInfo, MetaGuest};

#[path = "../../../ban/src/search.rs"]
mod search;

struct BanV2;

impl MetaGuest for BanV2 {
    fn describe() -> ConnectorInfo {
        search::describe(env!("CARGO_PKG_VERSION"))
    }
}

impl AddressGuest for BanV2 {
    fn search_address(query: String, limit: u8) -> Result<Vec<Address>, ConnectorError> {
        search::search(&query, limit, "v2 ")
    }
}

connector_sdk::export_address_provider!(BanV2);
