; closures.lisp — closures capture and share their environments.

(define (make-counter)
  (let ((n 0))
    (lambda () (set! n (+ n 1)) n)))

(define c1 (make-counter))
(define c2 (make-counter))
(c1) (c1) (c2)
(display "counters: ") (display (list (c1) (c2))) (newline)

(define (make-adder k) (lambda (x) (+ x k)))
(define (compose f g) (lambda (x) (f (g x))))
(define add5 (make-adder 5))
(define add5-twice (compose add5 add5))
(display "compose: ") (display (add5-twice 32)) (newline)

; An account: several closures sharing one mutable binding.
(define (make-account balance)
  (define (deposit n) (set! balance (+ balance n)) balance)
  (define (withdraw n)
    (if (> n balance) "insufficient funds"
        (begin (set! balance (- balance n)) balance)))
  (lambda (message n)
    (cond ((eq? message 'deposit) (deposit n))
          ((eq? message 'withdraw) (withdraw n))
          (else (error "unknown request")))))
(define acc (make-account 100))
(acc 'deposit 50)
(display "account: ") (display (acc 'withdraw 30)) (display " ")
(display (acc 'withdraw 500)) (newline)

; Currying and a variadic lambda.
(define (curry f) (lambda (a) (lambda (b) (f a b))))
(display "curry: ") (display (((curry *) 6) 7)) (newline)
(define (count-args . args) (if (null? args) 0 (+ 1 (apply count-args (cdr args)))))
(display "variadic: ") (display (count-args 'a 'b 'c 'd)) (newline)

; Many short-lived closures: each call makes a new environment and closure.
(define (sum-of-adders i total)
  (if (= i 0) total
      (sum-of-adders (- i 1) ((make-adder i) total))))
(display "closure churn: ")
(display (= (sum-of-adders (+ 20 (* 2000 scale)) 0)
            (let ((n (+ 20 (* 2000 scale)))) (quotient (* n (+ n 1)) 2))))
(newline)
