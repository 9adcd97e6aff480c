"""Device profiles, serial links to boards, and power meters."""
