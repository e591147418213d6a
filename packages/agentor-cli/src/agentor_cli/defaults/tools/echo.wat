;; echo: a WASI preview 1 command that writes its arguments back.
;; Arguments arrive as one JSON object on stdin; the result leaves on stdout.
;; Reads at most 1 MiB; longer input is cut (the result is then not JSON and
;; the sandbox reports sandbox.invalid_result).
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 18)
  ;; 0: iovec {base, len}; 8: count out; 1024..: buffer of 1 MiB
  (func (export "_start")
    (local $total i32)
    (local $n i32)
    (block $done
      (loop $read
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $total)))
        (i32.store (i32.const 4) (i32.sub (i32.const 1048576) (local.get $total)))
        (br_if $done (i32.eqz (i32.load (i32.const 4))))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br $read)))
    (local.set $n (i32.const 0))
    (block $written
      (loop $write
        (br_if $written (i32.ge_u (local.get $n) (local.get $total)))
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $n)))
        (i32.store (i32.const 4) (i32.sub (local.get $total) (local.get $n)))
        (br_if $written (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.add (local.get $n) (i32.load (i32.const 8))))
        (br $write)))))
