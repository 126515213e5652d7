// Package csvsafe writes CSV that a spreadsheet opens without running any
// of it (CSV injection, OWASP): every cell whose text starts with = + - @
// a tab or a carriage return gets a leading single quote (Cell), every
// cell is enclosed in double quotes so that no separator inside it — a
// comma, or the semicolon or tab other locales split on — starts a cell
// of its own (Writer), and the text quoted on a '#' comment line is kept
// to one line with nothing that splits it into cells (Comment).
//
// Every CSV the project writes goes through it. It must not import the
// project's packages: they import it.
package csvsafe
