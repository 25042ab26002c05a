"""Reads of the registry's small reference tables, shared by the API, the pages and the PDFs."""

from sqlmodel import Session, select

from supervision.registry.models import Department, InspectionItem, Unit


def list_departments(session: Session) -> list[Department]:
    return list(session.exec(select(Department).order_by(Department.code)))


def list_units(session: Session) -> list[Unit]:
    return list(session.exec(select(Unit).order_by(Unit.code)))


def department_names(session: Session) -> dict[str, str]:
    return dict(session.exec(select(Department.code, Department.name)).all())


def unit_names(session: Session) -> dict[str, str]:
    return dict(session.exec(select(Unit.code, Unit.name)).all())


def item_names(session: Session) -> dict[str, str]:
    return dict(session.exec(select(InspectionItem.code, InspectionItem.name)).all())
