/*
 * relation.h
 *	  relation.c: Django's relations derived from foreign keys (forward,
 *	  reverse, many-to-many through a junction table), their names, and
 *	  the field names a path may start with (for messages).
 */
#ifndef QS_RELATION_H
#define QS_RELATION_H

#include "model.h"

/* ---------- relation.c: relations derived from foreign keys ---------- */
typedef enum QsRelKind
{
	QS_REL_FORWARD,				/* this model holds the FK (many-to-one, one-to-one) */
	QS_REL_REVERSE,				/* another table's FK points here (one-to-many) */
	QS_REL_M2M					/* through a junction table of two FKs */
} QsRelKind;

typedef struct QsRelation
{
	char	   *name;			/* as seen from the model (renamed or default) */
	char	   *default_name;
	QsRelKind	kind;
	bool		unique;			/* the FK columns are unique: one-to-one */
	bool		nullable;		/* forward: some FK column allows NULL */
	bool		ambiguous;		/* the name is shared with another relation or a column */
	Oid			target;			/* the related model */
	Oid			via_rel;		/* the table holding the identifying FK */
	char	   *via_constraint; /* ... and that FK's name */
	Oid			junction;		/* m2m: the junction table */
	int			nkeys;
	AttrNumber *keys;			/* columns of this model */
	AttrNumber *tkeys;			/* matching columns of the target (m2m: of the junction) */
	int			nkeys2;			/* m2m: junction -> target */
	AttrNumber *jkeys2;
	AttrNumber *tkeys2;
} QsRelation;

extern List *QsModelRelations(QsModel *model);
extern char *QsModelChoices(QsModel *model);

#endif							/* QS_RELATION_H */
