//! A build-farm node.
