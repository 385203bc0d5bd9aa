"""The Socket.IO gateway: `/agent` for extension agents, `/app` for signed-in users."""
