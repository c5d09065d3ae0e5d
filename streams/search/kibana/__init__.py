"""Kibana: the crisis-room saved objects (data views, visualisations, dashboard) and their import."""
