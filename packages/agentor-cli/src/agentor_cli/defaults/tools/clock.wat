;; clock: a WASI preview 1 command that reports the host's wall clock.
;; Ignores its arguments; writes {"unix_ms":N} on stdout.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: iovec; 8: count out; 16: time (i64); 64..: output text
  (data (i32.const 64) "{\"unix_ms\":")
  (func (export "_start")
    (local $ms i64)
    (local $end i32)
    (local $start i32)
    (local $tmp i32)
    (if (call $clock_time_get (i32.const 0) (i64.const 1000000) (i32.const 16))
      (then (unreachable)))
    (local.set $ms (i64.div_u (i64.load (i32.const 16)) (i64.const 1000000)))
    ;; digits are written backwards from 200, then reversed into place after the prefix
    (local.set $end (i32.const 200))
    (loop $digit
      (local.set $end (i32.sub (local.get $end) (i32.const 1)))
      (i32.store8 (local.get $end)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $ms) (i64.const 10)))))
      (local.set $ms (i64.div_u (local.get $ms) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $ms) (i64.const 0))))
    ;; copy digits to 75 (64 + len of prefix 11)
    (local.set $start (i32.const 75))
    (local.set $tmp (local.get $end))
    (loop $copy
      (i32.store8 (local.get $start) (i32.load8_u (local.get $tmp)))
      (local.set $start (i32.add (local.get $start) (i32.const 1)))
      (local.set $tmp (i32.add (local.get $tmp) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $tmp) (i32.const 200))))
    (i32.store8 (local.get $start) (i32.const 125))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.sub (i32.add (local.get $start) (i32.const 1)) (i32.const 64)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
