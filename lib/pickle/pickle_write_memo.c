/* The pickle writer's globals and dtypes, memoised on first use, and the call
 * bracket (pw_call_begin / pw_call_end). Its own file because both the frame
 * writer (pickle_write.c) and the column writer (pickle_write_cols.c) emit them:
 * kept in either, the two would call each other; here, below both, calls flow
 * one way (write -> cols -> sel, and both -> memo -> emit). */
#include <string.h>

#include "error.h"
#include "pickle_emit.h"
#include "pickle_write_int.h"

/* ------------------------------------------------------------------------ */
/* Globals and dtypes, memoised on first use                                 */
/* ------------------------------------------------------------------------ */
static const char *const global_names[G_COUNT][2] = {
    [G_FROMBUFFER] = {"numpy", "frombuffer"},
    [G_DTYPE] = {"numpy", "dtype"},
    [G_CONCATENATE] = {"numpy", "concatenate"},
    [G_ZEROS] = {"numpy", "zeros"},
    [G_DATAFRAME] = {"pandas", "DataFrame"},
    [G_SERIES] = {"pandas", "Series"},
    [G_CONCAT] = {"pandas", "concat"},
    [G_INDEX] = {"pandas", "Index"},
    [G_RANGEINDEX] = {"pandas", "RangeIndex"},
    [G_FROM_ARRAYS] = {"pandas", "MultiIndex.from_arrays"},
    [G_FROM_CODES] = {"pandas", "Categorical.from_codes"},
    [G_TZDTYPE] = {"pandas", "DatetimeTZDtype"},
    [G_PDARRAY] = {"pandas", "array"},
    [G_STRINGDTYPE] = {"pandas", "StringDtype"},
    [G_INTARRAY] = {"pandas.arrays", "IntegerArray"},
    [G_FLOATARRAY] = {"pandas.arrays", "FloatingArray"},
    [G_BOOLARRAY] = {"pandas.arrays", "BooleanArray"},
    [G_LOADS] = {"pickle", "loads"},
    [G_GETITEM] = {"operator", "getitem"},
    [G_SLICE] = {"builtins", "slice"},
    [G_NAN] = {"numpy", "nan"},
    [G_PERIODARRAY] = {"pandas.arrays", "PeriodArray"},
    [G_PERIODDTYPE] = {"pandas", "PeriodDtype"},
    [G_IVFROMARRAYS] = {"pandas.arrays", "IntervalArray.from_arrays"},
    [G_SPARSEARRAY] = {"pandas.arrays", "SparseArray"},
    [G_INTINDEX] = {"pandas._libs.sparse", "IntIndex"},
    [G_SPARSEDTYPE] = {"pandas", "SparseDtype"},
    [G_DTINDEX] = {"pandas", "DatetimeIndex"},
    [G_TDINDEX] = {"pandas", "TimedeltaIndex"},
    [G_PARTIAL] = {"functools", "partial"},
    [G_SET_AXIS] = {"pandas", "DataFrame.set_axis"},
    [G_WEEK] = {"pandas.tseries.offsets", "Week"},
    [G_ARROW_EXT_ARRAY] = {"pandas.arrays", "ArrowExtensionArray"},
    [G_PA_CHUNKED_ARRAY] = {"pyarrow", "chunked_array"},
    [G_PA_FROM_BUFFERS] = {"pyarrow", "Array.from_buffers"},
    [G_PA_DICT_FROM_ARRAYS] = {"pyarrow", "DictionaryArray.from_arrays"},
    [G_PA_CONCAT_ARRAYS] = {"pyarrow", "concat_arrays"},
    [G_PA_ARRAY] = {"pyarrow", "array"},
    [G_PA_PY_BUFFER] = {"pyarrow", "py_buffer"},
    [G_PA_TYPE_FOR_ALIAS] = {"pyarrow", "type_for_alias"},
    [G_PA_TIMESTAMP] = {"pyarrow", "timestamp"},
    [G_PA_DECIMAL128] = {"pyarrow", "decimal128"},
    [G_PA_DECIMAL256] = {"pyarrow", "decimal256"},
    [G_PA_BINARY] = {"pyarrow", "binary"},
    [G_PA_DICTIONARY] = {"pyarrow", "dictionary"},
};

int pw_global(pw_writer *w, int g)
{
    if (w->global_memo[g]) return shmc_pk_get(&w->pk, w->global_memo[g] - 1);
    shmc_pk_global(&w->pk, global_names[g][0], global_names[g][1]);
    uint32_t idx = 0;
    FORWARD_IF_ERROR(shmc_pk_memoize(&w->pk, &idx));
    w->global_memo[g] = idx + 1;
    return SHMC_OK;
}

int pw_dtype(pw_writer *w, const char *name)
{
    for (size_t i = 0; i < w->ndtypes; i++)
        if (!strcmp(w->dtypes[i].name, name)) return shmc_pk_get(&w->pk, w->dtypes[i].memo);
    pw_global(w, G_DTYPE);
    shmc_pk_cstr(&w->pk, name);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE1);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    uint32_t idx = 0;
    FORWARD_IF_ERROR(shmc_pk_memoize(&w->pk, &idx));
    if (w->ndtypes < PW_MAX_DTYPES && strlen(name) < sizeof w->dtypes[0].name) {
        strcpy(w->dtypes[w->ndtypes].name, name);
        w->dtypes[w->ndtypes++].memo = idx;
    }
    return SHMC_OK;
}

int pw_call_begin(pw_writer *w, int g)
{
    pw_global(w, g);
    return shmc_pk_op(&w->pk, SHMC_OP_MARK);
}

int pw_call_end(pw_writer *w)
{
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}
