"""One APIRouter per resource; thin: parse, call a service, shape the answer."""
