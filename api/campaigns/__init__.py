"""HTTP delivery of campaign coordination: the campaign API, the contact preferences."""
