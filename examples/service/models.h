/* The telemetry service's models: devices and the readings they send. One declaration each gives
 * the C struct, the JSON contract, the table and (through makemigrations) its migrations. */
#ifndef TELEMETRY_MODELS_H
#define TELEMETRY_MODELS_H

#include <cadre.h>

#define DEVICE_FIELDS(F)                                                                           \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100), CADRE_UNIQUE)                            \
    F(string, location, CADRE_MAX_LEN(200), CADRE_DEFAULT_STR(""))                                 \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(device, DEVICE_FIELDS)

/* One measurement: a device's metric ("temperature", "voltage") at the time the device took it. */
#define READING_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, device_id, CADRE_FOREIGN_KEY(device, CADRE_ON_DELETE_CASCADE))                        \
    F(string, metric, CADRE_MIN_LEN(1), CADRE_MAX_LEN(50), CADRE_INDEX)                            \
    F(double, value)                                                                               \
    F(datetime, taken_at, CADRE_INDEX)
CADRE_MODEL(reading, READING_FIELDS)

#endif
