"""Content-addressed files: frozen draw inputs, bundles, evidence."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class StoredFile(SQLModel, table=True):
    __tablename__ = "stored_file"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    media_type: str = Field(max_length=100)
    created_at: datetime
