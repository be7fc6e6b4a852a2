/* What the pickle writer adds around the frame beyond its columns: the row
 * index's freq, duplicate column labels and df.attrs. Its own file because each
 * wraps what pickle_write.c emits (a bracket before, a bracket after) rather
 * than being a column, and all three load on pandas 2.2 and 3.x through public
 * callables or pandas' own pickle state:
 *   freq        DatetimeIndex | TimedeltaIndex .__new__(cls, index, freq="D")
 *               (NEWOBJ_EX: the keyword, because TimedeltaIndex's second
 *               positional parameter is `unit` on pandas 2.2 and `freq` on 3.x);
 *               "W" / "<n>W" (Week(weekday=None), whose freqstr pandas parses as
 *               W-SUN) as pandas.tseries.offsets.Week(n, False, None)
 *   duplicates  functools.partial(pandas.DataFrame.set_axis, axis=1)(frame, labels),
 *               the frame built from a dict keyed by column position (a dict
 *               cannot hold one label twice)
 *   attrs       BUILD {"_typ": "dataframe", "_attrs": {...}} on the frame, the state
 *               NDFrame.__setstate__ reads from every pickled DataFrame; the dict
 *               goes through the plain-value pass, so loading it runs nothing. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "pickle_emit.h"
#include "pickle_plain.h"
#include "pickle_read.h"
#include "pickle_write_int.h"
#include "shmchunk.h"

/* ---- freq ----------------------------------------------------------------- */
/* The stored freq applies to one DATETIME/TIMEDELTA index column over one run of
 * consecutive rows (rows picked from several runs follow no frequency). The
 * string was checked at open (letters, digits, '-+_'). */
static const char *freq_of(pw_writer *w, const shmc_column_info *ci)
{
    const char *freq = NULL;
    if (w->nindex != 1 || w->nruns > 1) return NULL;
    if (ci->kind != SHMC_KIND_DATETIME && ci->kind != SHMC_KIND_TIMEDELTA) return NULL;
    if (shmc_segment_index_freq(w->seg, &freq) != SHMC_OK || !freq || !*freq) return NULL;
    return freq;
}

int pw_freq_begin(pw_writer *w, const shmc_column_info *ci, const char **freq)
{
    *freq = freq_of(w, ci);
    if (!*freq) return SHMC_OK;
    pw_global(w, ci->kind == SHMC_KIND_DATETIME ? G_DTINDEX : G_TDINDEX);
    return shmc_pk_op(&w->pk, SHMC_OP_MARK);
}

/* Week(weekday=None)'s freqstr, "W" or "<n>W" with n a nonzero int of at most 9
 * digits (|n| < 1e9, the bound pack reads offsets with; pandas takes n as a C int):
 * *n, 1; anything else 0. The one freqstr to_offset does not rebuild. */
static int weekless(const char *freq, int64_t *n)
{
    size_t len = strlen(freq), sign = freq[0] == '-';
    if (len < 1 || len - sign > 10 || freq[len - 1] != 'W') return 0;
    if (len - 1 == sign) {
        *n = sign ? -1 : 1;
        return !sign;
    }
    int64_t v = 0;
    for (size_t i = sign; i < len - 1; i++) {
        if (freq[i] < '0' || freq[i] > '9') return 0;
        v = v * 10 + (freq[i] - '0');
    }
    *n = sign ? -v : v;
    return v != 0;
}

static int emit_freq(pw_writer *w, const char *freq)
{
    int64_t n;
    if (!weekless(freq, &n)) return shmc_pk_cstr(&w->pk, freq);
    pw_global(w, G_WEEK);
    shmc_pk_int(&w->pk, n);
    shmc_pk_bool(&w->pk, 0);
    shmc_pk_none(&w->pk);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE3);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

int pw_freq_end(pw_writer *w, const char *freq)
{
    if (!freq) return SHMC_OK;
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE);
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_DICT);
    shmc_pk_cstr(&w->pk, "freq");
    emit_freq(w, freq);
    shmc_pk_op(&w->pk, SHMC_OP_SETITEM);
    return shmc_pk_op(&w->pk, SHMC_OP_NEWOBJ_EX);
}

/* ---- duplicate labels ----------------------------------------------------- */
/* partial(DataFrame.set_axis) + BUILD (func, (), {"axis": 1}, None), then MARK for
 * the call's arguments: the frame and the labels. */
int pw_set_axis_begin(pw_writer *w)
{
    pw_global(w, G_PARTIAL);
    pw_global(w, G_SET_AXIS);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE1);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_op(&w->pk, SHMC_OP_MARK);
    pw_global(w, G_SET_AXIS);
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_TUPLE);
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_DICT);
    shmc_pk_cstr(&w->pk, "axis");
    shmc_pk_int(&w->pk, 1);
    shmc_pk_op(&w->pk, SHMC_OP_SETITEM);
    shmc_pk_none(&w->pk);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE);
    shmc_pk_op(&w->pk, SHMC_OP_BUILD);
    return shmc_pk_op(&w->pk, SHMC_OP_MARK);
}

int pw_set_axis_end(pw_writer *w) { return pw_call_end(w); }

/* ---- attrs ---------------------------------------------------------------- */
/* As the Python binding bounds df.attrs (_read.py ATTRS_LIMITS), plus the input length. */
static const shmc_plain_limits attrs_limits = {1u << 20, 64u << 20, 256};

static int attrs_plain(pw_writer *w, const uint8_t *meta, size_t len)
{
    shmc_pk_input in = {meta, len, NULL, NULL, 0};
    shmc_pk_doc *doc = NULL;
    shmc_pk_value *root = NULL;
    FORWARD_IF_ERROR(shmc_pk_parse(&in, NULL, &doc, &root, w->err));
    int st = root && root->type == SHMC_PK_DICT
                 ? SHMC_OK
                 : shmc_err_set(w->err, SHMC_ERR_CORRUPT,
                                "df.attrs: the stored value is a %s, not a dict",
                                root ? shmc_pk_type_name(root->type) : "nothing");
    shmc_plain_limits lim = attrs_limits;
    lim.max_nodes += len;
    lim.max_bytes += 4 * (uint64_t)len;
    if (st == SHMC_OK) st = shmc_plain_emit_value(&w->pk, root, len, &lim, w->err);
    shmc_pk_doc_free(doc);
    return st;
}

/* Not plain: pickle.loads(meta), only with SHMC_PICKLE_OBJECTS (it runs code
 * stored in the segment), like a pickled label. */
static int attrs_value(pw_writer *w, const uint8_t *meta, size_t len)
{
    int st = attrs_plain(w, meta, len);
    if (st != SHMC_ERR_UNSUPPORTED) {
        if (st != SHMC_OK) shmc_err_prefix(w->err, "df.attrs: ");
        return st;
    }
    char why[SHMC_ERRMSG_CAP];
    snprintf(why, sizeof why, "%s", w->err->msg);
    RETURN_ERROR_IF(!(w->flags & SHMC_PICKLE_OBJECTS), w->err, SHMC_ERR_PERMISSION,
                    "df.attrs: a pickle that runs code when loaded (%s); pass "
                    "SHMC_PICKLE_OBJECTS to emit it",
                    why);
    shmc_err_clear(w->err);
    pw_global(w, G_LOADS);
    shmc_pk_bytes(&w->pk, meta, len);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE1);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

int pw_attrs(pw_writer *w)
{
    const void *meta = NULL;
    size_t len = 0;
    FORWARD_IF_ERROR(shmc_segment_meta(w->seg, &meta, &len));
    if (!len) return SHMC_OK;
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_DICT);
    shmc_pk_op(&w->pk, SHMC_OP_MARK);
    shmc_pk_cstr(&w->pk, "_typ");
    shmc_pk_cstr(&w->pk, "dataframe");
    shmc_pk_cstr(&w->pk, "_attrs");
    FORWARD_IF_ERROR(attrs_value(w, meta, len));
    shmc_pk_op(&w->pk, SHMC_OP_SETITEMS);
    return shmc_pk_op(&w->pk, SHMC_OP_BUILD);
}
