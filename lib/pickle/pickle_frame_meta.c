/* What a pickled DataFrame carries besides its columns and labels: the row
 * index's freq and df.attrs. Its own file because neither is a column: each is
 * read once per frame, after the index and before anything is emitted, into
 * values the frame stores as they are (a freq string, a plain-value pickle).
 *
 *   freq   pandas 3.x: _new_DatetimeIndex / _new_TimedeltaIndex (cls, {..., "freq": offset});
 *          pandas 2.x: the index's DatetimeArray / TimedeltaArray BUILD state
 *          (dtype, ndarray, {"_freq": offset}). An offset is
 *          REDUCE(pandas._libs.tslibs.offsets.<Class>, (n, normalize[, extra])), read
 *          by class name from pf_offsets (the whole vocabulary) into the freqstr
 *          pandas prints ("D", "-2h", "B", "W-SUN", "QE-DEC"); nothing is called.
 *   attrs  the DataFrame's BUILD state "attrs" (pandas >= 2.1) or "_attrs": a dict of
 *          plain values (pickle_plain.c), re-encoded; anything else is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_frame_int.h"
#include "pickle_plain.h"

enum { PF_X_NONE, PF_X_WEEKDAY, PF_X_MONTH, PF_X_TD0 };

typedef struct pf_offset_row {
    const char *cls;  /* class in pandas._libs.tslibs.offsets */
    const char *code; /* freqstr prefix */
    int extra;        /* the third REDUCE argument: PF_X_* */
} pf_offset_row;

static const pf_offset_row pf_offsets[] = {
    {"Day", "D", PF_X_NONE},
    {"Hour", "h", PF_X_NONE},
    {"Minute", "min", PF_X_NONE},
    {"Second", "s", PF_X_NONE},
    {"Milli", "ms", PF_X_NONE},
    {"Micro", "us", PF_X_NONE},
    {"Nano", "ns", PF_X_NONE},
    {"BusinessDay", "B", PF_X_TD0},
    {"Week", "W", PF_X_WEEKDAY},
    {"MonthEnd", "ME", PF_X_NONE},
    {"MonthBegin", "MS", PF_X_NONE},
    {"BusinessMonthEnd", "BME", PF_X_NONE},
    {"BusinessMonthBegin", "BMS", PF_X_NONE},
    {"QuarterEnd", "QE", PF_X_MONTH},
    {"QuarterBegin", "QS", PF_X_MONTH},
    {"BQuarterEnd", "BQE", PF_X_MONTH},
    {"BQuarterBegin", "BQS", PF_X_MONTH},
    {"YearEnd", "YE", PF_X_MONTH},
    {"YearBegin", "YS", PF_X_MONTH},
    {"BYearEnd", "BYE", PF_X_MONTH},
    {"BYearBegin", "BYS", PF_X_MONTH},
};

static const char *const pf_weekdays[7] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
static const char *const pf_months[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

static const pf_offset_row *pf_offset_row_of(const shmc_pk_value *g)
{
    for (size_t i = 0; i < sizeof pf_offsets / sizeof *pf_offsets; i++)
        if (shmc_pk_is_global(g, "pandas._libs.tslibs.offsets", pf_offsets[i].cls))
            return &pf_offsets[i];
    return NULL;
}

/* datetime.timedelta(0, 0, 0) (or with fewer arguments): BusinessDay's offset. */
static int pf_is_td0(const shmc_pk_value *v)
{
    if (!v || v->type != SHMC_PK_REDUCE ||
        !shmc_pk_is_global(pf_callee(v), "datetime", "timedelta"))
        return 0;
    for (size_t i = 0; i < pf_nargs(v); i++) {
        int64_t x;
        if (!pf_int(pf_arg(v, i), &x) || x != 0) return 0;
    }
    return 1;
}

/* The "-SUFFIX" of a freqstr from the third argument; -1 when it is not one. */
static int pf_offset_suffix(const pf_offset_row *row, const shmc_pk_value *x, char *out, size_t cap)
{
    int64_t k = 0;
    out[0] = '\0';
    if (row->extra == PF_X_NONE) return x ? -1 : 0;
    if (row->extra == PF_X_TD0) return !x || pf_is_td0(x) ? 0 : -1;
    if (row->extra == PF_X_WEEKDAY && x && x->type == SHMC_PK_NONE) return 0; /* Week() */
    if (!pf_int(x, &k)) return -1;
    if (row->extra == PF_X_WEEKDAY && k >= 0 && k < 7) snprintf(out, cap, "-%s", pf_weekdays[k]);
    else if (row->extra == PF_X_MONTH && k >= 1 && k <= 12)
        snprintf(out, cap, "-%s", pf_months[k - 1]);
    else return -1;
    return 0;
}

/* An offset object -> its freqstr, or refused naming it. */
static int pf_offset(pf_ctx *C, const shmc_pk_value *v, char *out, size_t cap)
{
    const pf_offset_row *row =
        v && v->type == SHMC_PK_REDUCE ? pf_offset_row_of(pf_callee(v)) : NULL;
    if (!row || v->v.call.state || pf_nargs(v) < 2 || pf_nargs(v) > 3)
        return pf_unsupported(C, v,
                              "an index freq (read: Day, Hour, Minute, Second, Milli, Micro, "
                              "Nano, BusinessDay, Week, Month/Quarter/Year Begin/End and their "
                              "Business forms)");
    int64_t n, normalize;
    char suffix[8];
    if (!pf_int(pf_arg(v, 0), &n) || n == 0 || n < -1000000000 || n > 1000000000 ||
        !pf_int(pf_arg(v, 1), &normalize) || normalize ||
        pf_offset_suffix(row, pf_arg(v, 2), suffix, sizeof suffix))
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, v,
                       "index freq %s: arguments other than (n a nonzero int "
                       "within +-10^9, normalize=False%s) have no freq string",
                       row->cls, row->extra == PF_X_NONE ? "" : ", a weekday/month/zero offset");
    if (n == 1) snprintf(out, cap, "%s%s", row->code, suffix);
    else snprintf(out, cap, "%lld%s%s", (long long)n, row->code, suffix);
    return SHMC_OK;
}

/* The freq object of a Datetime/TimedeltaIndex node, NULL when it has none. */
static const shmc_pk_value *pf_freq_node(const shmc_pk_value *idx)
{
    const shmc_pk_value *d = pf_arg(idx, 1), *f = shmc_pk_dict_get(d, "freq");
    if (f && f->type != SHMC_PK_NONE) return f;
    const shmc_pk_value *data = shmc_pk_dict_get(d, "data");
    if (!data || data->type != SHMC_PK_REDUCE ||
        !pf_pd(pf_callee(data), "__pyx_unpickle_NDArrayBacked"))
        return NULL;
    f = shmc_pk_dict_get(shmc_pk_item(shmc_pk_state(data), 2), "_freq");
    return f && f->type != SHMC_PK_NONE ? f : NULL;
}

int pf_index_freq(pf_ctx *C, const pf_index *ix, const pf_col *icol, char *out, size_t cap)
{
    out[0] = '\0';
    if (ix->is_range || ix->nlevels) return SHMC_OK;
    if (icol->d.kind != SHMC_KIND_DATETIME && icol->d.kind != SHMC_KIND_TIMEDELTA) return SHMC_OK;
    const shmc_pk_value *f = pf_freq_node(ix->node);
    return f ? pf_offset(C, f, out, cap) : SHMC_OK;
}

/* ---- attrs ----------------------------------------------------------------- */
int pf_attrs(pf_ctx *C, const shmc_pk_value *state, size_t input_len, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const shmc_pk_value *a = shmc_pk_dict_get(state, "attrs");
    if (!a || a->type == SHMC_PK_NONE) a = shmc_pk_dict_get(state, "_attrs");
    if (!a || a->type == SHMC_PK_NONE || (a->type == SHMC_PK_DICT && shmc_pk_count(a) == 0))
        return SHMC_OK;
    if (a->type != SHMC_PK_DICT) return pf_unsupported(C, a, "df.attrs (a dict is read)");
    /* As the Python binding bounds df.attrs (_read.py ATTRS_LIMITS), plus the input. */
    shmc_plain_limits lim = {(1u << 20) + (uint64_t)input_len,
                             (64u << 20) + 4 * (uint64_t)input_len, 256};
    shmc_pk pk;
    shmc_pk_init(&pk);
    shmc_pk_begin(&pk);
    int st = shmc_plain_emit_value(&pk, a, input_len, &lim, C->err);
    if (st == SHMC_OK && shmc_pk_end(&pk) != SHMC_OK)
        st = pf_fail(C, SHMC_ERR_NOMEM, a, "df.attrs: out of memory");
    if (st != SHMC_OK && st != SHMC_ERR_UNSUPPORTED) shmc_err_prefix(C->err, "df.attrs: ");
    if (st == SHMC_ERR_UNSUPPORTED)
        shmc_err_prefix(C->err,
                        "df.attrs holds a value other than None, bool, int, float, str, bytes "
                        "and containers of them (kept exactly only as such; drop or convert it "
                        "before to_pickle): ");
    if (st == SHMC_OK && pk.len > C->budget)
        st = pf_fail(C, SHMC_ERR_LIMIT, a, "df.attrs: more than max_alloc bytes");
    if (st == SHMC_OK) {
        C->budget -= pk.len;
        *out = shmc_pk_take(&pk, len);
        st = shmc_frame_keep(C->frame, *out, free);
        if (st != SHMC_OK) free(*out);
    }
    shmc_pk_free(&pk);
    return st;
}
