//! The client side of a session, below every verb: the connection and its
//! one request/answer exchange ([`Conn`]), the interactive terminal
//! ([`attach`]), watching the output ([`watch`]), and the requests more
//! than one verb makes ([`send()`], [`stop_all`]).

pub mod attach;
pub mod command;
mod conn;
mod send;
mod stop;
pub mod watch;

pub use conn::Conn;
pub use send::send;
pub use stop::{STOP_SIGNALS, stop_all};
