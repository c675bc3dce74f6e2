//! BAN (Base Adresse Nationale) address search connector.
use connector_sdk::{Address, AddressGuest, ConnectorError, ConnectorInfo, MetaGuest};

mod search;

struct Ban;

impl MetaGuest for Ban {
    fn describe() -> ConnectorInfo {
        search::describe(env!("CARGO_PKG_VERSION"))
    }
}

impl AddressGuest for Ban {
    fn search_address(query: String, limit: u8) -> Result<Vec<Address>, ConnectorError> {
        search::search(&query, limit, "")
    }
}

connector_sdk::export_address_provider!(Ban);
