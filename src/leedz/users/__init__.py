"""Users (global identities) and their sessions (refresh-token families): the rows sign-in,
members and invites build on."""
