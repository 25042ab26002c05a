"""One row per number issued: which series, which year, which number, for which document."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class DocumentNumber(SQLModel, table=True):
    """A 发文字号 such as 昌市监抽〔2026〕3号: the authority's abbreviation and the series'
    character (``prefix``), the year, and the number within them. A document keeps the number
    it was first given (printing it again does not take a new one); a number once issued is
    never given to another document, even if its document is later withdrawn."""

    __tablename__ = "document_number"
    __table_args__ = (
        UniqueConstraint("prefix", "year", "number", name="uq_document_number"),
        UniqueConstraint("kind", "object_key", name="uq_document_object"),
    )
    id: int | None = Field(default=None, primary_key=True)
    authority: str = Field(max_length=100)
    prefix: str = Field(max_length=32)  # e.g. 昌市监抽
    year: int
    number: int
    kind: str = Field(max_length=32)  # plan / announcement / draw / notice / decision / …
    object_key: str = Field(max_length=120)  # what the document is of (batch code, entry id…)
    issued_at: datetime
    issued_by: str = Field(max_length=64)

    @property
    def text(self) -> str:
        return f"{self.prefix}〔{self.year}〕{self.number}号"
