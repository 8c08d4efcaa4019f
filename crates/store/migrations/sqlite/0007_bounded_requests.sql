-- Requests stored before the API bounded them (memory at most 16 TiB = 16777216 MiB, CPU at most
-- 1024 cores = 1024000 millicores) are clamped to those bounds, so the sums made over a host's or a
-- project's containers (host_view, quota usage) cannot overflow a BIGINT. A value stored as a
-- negative number (a u64 past i64's range) is clamped too.
UPDATE containers SET memory_mib = 16777216 WHERE memory_mib > 16777216 OR memory_mib < 0;
UPDATE containers SET cpu_millis = 1024000 WHERE cpu_millis > 1024000 OR cpu_millis < 0;
