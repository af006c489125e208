//! The factory wire format. Pure: no tokio, no quinn, no redb.
